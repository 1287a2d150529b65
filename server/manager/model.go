package manager

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/panics"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/servable/status"
)

// servingSet is an immutable snapshot of a model's AVAILABLE versions,
// highest first. Requests read it without locks.
type servingSet struct {
	versions []*version
}

func (s *servingSet) find(v int64) *version {
	for _, x := range s.versions {
		if x.num == v {
			return x
		}
	}
	return nil
}

// model is one configured model: its poll goroutine, versions and states.
type model struct {
	mgr  *Manager
	name string

	serving atomic.Pointer[servingSet]

	mu        sync.Mutex
	cfg       *servingpb.ModelConfig
	running   bool
	stop      chan struct{} // closed by remove
	trigger   chan struct{} // config changed: poll now
	firstPoll chan struct{} // closed after the first reconcile of a start
	done      chan struct{} // closed when the poll goroutine has exited
	src       Source
	srcPath   string
	states    map[int64]VersionStatus
	loaded    map[int64]*version // AVAILABLE versions
	failed    map[int64]bool     // aspired versions whose load failed
	problem   string             // last poll error, "" when the last poll worked
	unloading sync.WaitGroup     // asynchronous unloads of this model
}

func newModel(m *Manager, name string) *model {
	md := &model{
		mgr:    m,
		name:   name,
		states: map[int64]VersionStatus{},
		loaded: map[int64]*version{},
		failed: map[int64]bool{},
	}
	md.serving.Store(&servingSet{})
	return md
}

func (md *model) isRunning() bool {
	md.mu.Lock()
	defer md.mu.Unlock()
	return md.running
}

// start launches the poll goroutine with config mc. Called with the
// manager's cfgMu held, on a model that is not running.
func (md *model) start(mc *servingpb.ModelConfig) {
	md.mu.Lock()
	prev := md.done
	md.mu.Unlock()
	if prev != nil {
		// A previous run (the model was removed and is now re-added) must
		// finish taking its versions out of serving first.
		<-prev
	}
	md.mu.Lock()
	md.cfg = mc
	md.failed = map[int64]bool{}
	md.done = make(chan struct{})
	md.running = true
	md.stop = make(chan struct{})
	md.trigger = make(chan struct{}, 1)
	md.firstPoll = make(chan struct{})
	stop, trigger, first, done := md.stop, md.trigger, md.firstPoll, md.done
	md.mu.Unlock()
	md.mgr.wg.Add(1)
	go md.run(stop, trigger, first, done)
}

// setConfig gives a running model a new config and polls again if it
// changed.
func (md *model) setConfig(mc *servingpb.ModelConfig) {
	md.mu.Lock()
	changed := !proto.Equal(md.cfg, mc)
	md.cfg = mc
	trigger := md.trigger
	md.mu.Unlock()
	if changed {
		select {
		case trigger <- struct{}{}:
		default:
		}
	}
}

// remove stops polling; the goroutine then unloads every version.
func (md *model) remove() {
	md.mu.Lock()
	defer md.mu.Unlock()
	if md.running {
		md.running = false
		close(md.stop)
	}
}

func (md *model) run(stop, trigger <-chan struct{}, first, done chan struct{}) {
	defer md.mgr.wg.Done()
	defer close(done)
	ctx, cancel := context.WithCancel(md.mgr.ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	md.reconcile(ctx)
	close(first)
	var tick <-chan time.Time
	if iv := md.mgr.opts.PollInterval; iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick:
			md.reconcile(ctx)
		case <-trigger:
			md.reconcile(ctx)
		}
	}
	md.unloadAll()
}

// reconcile lists the base path once and applies the version policy with
// TF Serving's AvailabilityPreservingPolicy until nothing is left to do.
func (md *model) reconcile(ctx context.Context) {
	md.mu.Lock()
	cfg := md.cfg
	src, srcPath := md.src, md.srcPath
	md.mu.Unlock()

	log := md.mgr.log.With("model", md.name)
	if src == nil || srcPath != cfg.GetBasePath() {
		var err error
		src, err = md.openSource(ctx, cfg.GetBasePath())
		if err != nil {
			md.setProblem(log, "open base path "+cfg.GetBasePath()+": "+err.Error())
			return
		}
		md.mu.Lock()
		md.src, md.srcPath = src, cfg.GetBasePath()
		md.mu.Unlock()
	}
	found, err := md.listVersions(ctx, src)
	if err != nil {
		if ctx.Err() == nil {
			md.setProblem(log, "Could not find base path "+cfg.GetBasePath()+" for servable "+md.name+
				" with error "+err.Error())
		}
		return
	}
	aspired := selectVersions(cfg.GetModelVersionPolicy(), found)
	if len(found) == 0 {
		md.setProblem(log, "No versions of servable "+md.name+" found under base path "+cfg.GetBasePath()+
			". Did you forget to name your leaf directory as a number (eg. '/1/')?")
	} else {
		md.setProblem(log, "")
	}

	md.mu.Lock()
	for v := range md.failed {
		if !slices.Contains(aspired, v) {
			delete(md.failed, v)
		}
	}
	md.mu.Unlock()

	for ctx.Err() == nil {
		act, v := md.nextAction(aspired)
		switch act {
		case actUnload:
			md.unload(v)
		case actLoad:
			md.load(ctx, src, v)
		default:
			return
		}
	}
}

func (md *model) openSource(ctx context.Context, path string) (src Source, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panics.Error(md.mgr.log, r, "opening a base path", "model", md.name, "base_path", path)
		}
	}()
	return md.mgr.opts.OpenSource(ctx, path)
}

func (md *model) listVersions(ctx context.Context, src Source) (vs []int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panics.Error(md.mgr.log, r, "listing versions", "model", md.name, "source", src.String())
		}
	}()
	return src.Versions(ctx)
}

// setProblem records (and logs once) the current poll problem, redacted.
func (md *model) setProblem(log interface{ Warn(string, ...any) }, msg string) {
	msg = redact.String(msg)
	md.mu.Lock()
	changed := md.problem != msg
	md.problem = msg
	md.mu.Unlock()
	if changed && msg != "" {
		log.Warn(msg)
	}
}

func (md *model) lastProblem() string {
	md.mu.Lock()
	defer md.mu.Unlock()
	if md.problem != "" {
		return md.problem
	}
	// Report the most recent failed load, if any.
	var best int64
	var msg string
	for v, st := range md.states {
		if st.State == StateEnd && st.Code != status.OK && (msg == "" || v > best) {
			best, msg = v, st.Code.String()+": "+st.Message
		}
	}
	return msg
}

const (
	actNone = iota
	actLoad
	actUnload
)

// nextAction is TF Serving's AvailabilityPreservingPolicy::GetNextAction:
// unload a non-aspired AVAILABLE version when no version is aspired, when an
// aspired one is already AVAILABLE, or when several non-aspired ones are;
// otherwise load the highest aspired version that is neither loaded nor
// failed.
func (md *model) nextAction(aspired []int64) (int, int64) {
	md.mu.Lock()
	defer md.mu.Unlock()
	aspiredServing := false
	var unaspired []int64
	for v := range md.loaded {
		if slices.Contains(aspired, v) {
			aspiredServing = true
		} else {
			unaspired = append(unaspired, v)
		}
	}
	slices.Sort(unaspired)
	if len(unaspired) > 0 && (len(aspired) == 0 || aspiredServing || len(unaspired) > 1) {
		return actUnload, unaspired[0]
	}
	best, ok := int64(0), false
	for _, v := range aspired {
		if md.loaded[v] != nil || md.failed[v] {
			continue
		}
		if !ok || v > best {
			best, ok = v, true
		}
	}
	if ok {
		return actLoad, best
	}
	return actNone, 0
}

func (md *model) setState(v int64, st State, err error) {
	code, msg := describeErr(err)
	md.mu.Lock()
	md.states[v] = VersionStatus{Version: v, State: st, Code: code, Message: msg}
	md.mu.Unlock()
}

// publish rebuilds the lock-free serving snapshot. Called with md.mu held.
func (md *model) publishLocked() {
	vs := slices.Collect(maps.Values(md.loaded))
	slices.SortFunc(vs, func(a, b *version) int {
		switch {
		case a.num > b.num:
			return -1
		case a.num < b.num:
			return 1
		}
		return 0
	})
	md.serving.Store(&servingSet{versions: vs})
}

// load loads version v, retrying as configured. On success it becomes
// AVAILABLE; on failure it is END with the error and is not retried while it
// stays aspired.
func (md *model) load(ctx context.Context, src Source, v int64) {
	log := md.mgr.log.With("model", md.name, "version", v)
	md.setState(v, StateStart, nil)
	md.setState(v, StateLoading, nil)
	log.Info("Loading servable version")
	start := time.Now()
	var (
		sm  servable.Model
		err error
	)
	for attempt := 0; ; attempt++ {
		sm, err = md.loadOnce(ctx, src, v)
		if err == nil || ctx.Err() != nil || attempt >= md.mgr.opts.MaxLoadRetries {
			break
		}
		log.Warn("Loading servable version failed, retrying", "attempt", attempt+1, "error", err)
		if iv := md.mgr.opts.LoadRetryInterval; iv > 0 {
			t := time.NewTimer(iv)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	if err == nil && ctx.Err() != nil {
		// Removed while loading: never publish it.
		md.closeModel(log, sm)
		err = status.New(status.Cancelled, "load cancelled: model unloaded")
	}
	if err != nil {
		md.mu.Lock()
		md.failed[v] = true
		md.mu.Unlock()
		md.setState(v, StateEnd, err)
		log.Error("Loading servable version failed", "error", err)
		return
	}
	ver := newVersion(v, sm, md.mgr.log)
	md.mu.Lock()
	md.loaded[v] = ver
	md.publishLocked()
	md.states[v] = VersionStatus{Version: v, State: StateAvailable}
	md.mu.Unlock()
	log.Info("Successfully loaded servable version", "took", time.Since(start).Round(time.Millisecond))
}

func (md *model) loadOnce(ctx context.Context, src Source, v int64) (sm servable.Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			sm, err = nil, panics.Error(md.mgr.log, r, "loading a version", "model", md.name, "version", v)
		}
	}()
	dir, err := src.Fetch(ctx, v)
	if err != nil {
		return nil, err
	}
	sm, err = md.mgr.opts.Load(ctx, dir)
	if err == nil && sm == nil {
		err = status.New(status.Internal, "loader returned no model for "+dir)
	}
	return sm, err
}

// unload takes v out of serving at once, then closes it in the background
// once the requests holding it have released it.
func (md *model) unload(v int64) {
	md.mu.Lock()
	ver := md.loaded[v]
	if ver == nil {
		md.mu.Unlock()
		return
	}
	delete(md.loaded, v)
	md.publishLocked()
	md.states[v] = VersionStatus{Version: v, State: StateUnloading}
	md.mu.Unlock()

	log := md.mgr.log.With("model", md.name, "version", v)
	log.Info("Unloading servable version")
	md.mgr.wg.Add(1)
	go func() {
		defer md.mgr.wg.Done()
		ver.retire()
		md.closeModel(log, ver.model)
		md.setState(v, StateEnd, nil)
		log.Info("Done unloading servable version")
	}()
}

func (md *model) closeModel(log interface{ Error(string, ...any) }, sm servable.Model) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("model Close panicked", "panic", r)
		}
	}()
	if err := sm.Close(); err != nil {
		log.Error("closing model version", "error", err)
	}
}

// unloadAll unloads every loaded version (the model left the config or the
// manager is closing).
func (md *model) unloadAll() {
	md.mu.Lock()
	vs := slices.Collect(maps.Keys(md.loaded))
	md.mu.Unlock()
	for _, v := range vs {
		md.unload(v)
	}
}

// latest returns the highest AVAILABLE version, or nil.
func (md *model) latest() *version {
	if md == nil {
		return nil
	}
	s := md.serving.Load()
	if len(s.versions) == 0 {
		return nil
	}
	return s.versions[0]
}

func (md *model) isAvailable(v int64) bool {
	if md == nil {
		return false
	}
	return md.serving.Load().find(v) != nil
}

func (md *model) status(v int64) (VersionStatus, bool) {
	md.mu.Lock()
	defer md.mu.Unlock()
	st, ok := md.states[v]
	return st, ok
}

func (md *model) allStatus() []VersionStatus {
	md.mu.Lock()
	out := slices.Collect(maps.Values(md.states))
	md.mu.Unlock()
	slices.SortFunc(out, func(a, b VersionStatus) int {
		switch {
		case a.Version > b.Version:
			return -1
		case a.Version < b.Version:
			return 1
		}
		return 0
	})
	return out
}
