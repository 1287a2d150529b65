package manager

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/servable/status"
)

// LoadFunc turns a local SavedModel version directory into a servable model.
type LoadFunc func(ctx context.Context, dir string) (servable.Model, error)

// Source lists a model's versions under its base path and makes one
// available locally. It is structurally identical to loader/source.Source.
type Source interface {
	// Versions lists the version numbers found under the base path. A
	// missing base path is an error.
	Versions(ctx context.Context) ([]int64, error)
	// Fetch returns a local directory holding the version.
	Fetch(ctx context.Context, version int64) (string, error)
	// String describes the source for logs (no credentials).
	String() string
}

// OpenSourceFunc opens the Source for a base path or URI (loader/source.Open
// with bound options, in production).
type OpenSourceFunc func(ctx context.Context, basePath string) (Source, error)

// Options configure a Manager.
type Options struct {
	// Load loads one version directory. Required.
	Load LoadFunc
	// OpenSource opens a model's base path. Required.
	OpenSource OpenSourceFunc
	// PollInterval is --file_system_poll_wait_seconds: how often each model's
	// base path is listed. Zero or negative: once (and again whenever the
	// model's config changes).
	PollInterval time.Duration
	// MaxLoadRetries is --max_num_load_retries: further attempts after a
	// failed load before the version is marked failed (END with the error).
	MaxLoadRetries int
	// LoadRetryInterval is --load_retry_interval_micros.
	LoadRetryInterval time.Duration
	// AllowVersionLabelsForUnavailableModels is
	// --allow_version_labels_for_unavailable_models: a label that is new (or
	// unchanged) may point at a version that is not AVAILABLE.
	AllowVersionLabelsForUnavailableModels bool
	// AllowedBasePaths is --allowed_model_base_paths: when not empty, every
	// base path a config names must lie under one of these prefixes
	// ("/models/", "s3://bucket/prefix/", "models:/", "https://host/"),
	// compared after cleaning (see BasePathPolicy). A config naming any
	// other is refused whole and nothing of it is fetched.
	AllowedBasePaths []string
	// Logger receives load/unload events (redacted); nil discards them.
	Logger *slog.Logger
	// PrepareConfig, when set, is called by ReloadConfig with a
	// model_config_list that passed every other check, just before it is
	// applied (server/requestlog's Logger.Prepare: the models'
	// logging_config). An error rejects the config whole; otherwise commit
	// is called once the config is applied.
	PrepareConfig func(list *servingpb.ModelConfigList) (commit func(), err error)
}

// Manager owns the loaded model versions. Create it with New, give it a
// config with ReloadConfig, and Close it at shutdown. All methods are safe for
// concurrent use.
type Manager struct {
	opts    Options
	log     *slog.Logger
	allowed *BasePathPolicy

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // model goroutines and asynchronous unloads

	cfgMu     sync.Mutex // serializes ReloadConfig and Close
	config    *servingpb.ModelServerConfig
	closed    bool
	haveFirst atomic.Bool // a model_config_list has been applied

	// models maps every model ever configured (removed ones keep their
	// status history) to its state; replaced copy-on-write under cfgMu.
	models atomic.Pointer[map[string]*model]
	// labels maps model name -> label -> version; replaced whole.
	labels atomic.Pointer[map[string]map[string]int64]
	// configured holds the names of the current config; replaced whole.
	configured atomic.Pointer[map[string]bool]
}

// New returns a Manager with no models.
func New(opts Options) (*Manager, error) {
	if opts.Load == nil {
		return nil, errors.New("manager: Options.Load is required")
	}
	if opts.OpenSource == nil {
		return nil, errors.New("manager: Options.OpenSource is required")
	}
	log := redact.Logger(opts.Logger)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allowed, err := NewBasePathPolicy(opts.AllowedBasePaths)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{opts: opts, log: log, allowed: allowed, ctx: ctx, cancel: cancel}
	empty := map[string]*model{}
	m.models.Store(&empty)
	noLabels := map[string]map[string]int64{}
	m.labels.Store(&noLabels)
	m.configured.Store(&map[string]bool{})
	return m, nil
}

// Config returns a copy of the config currently applied (nil before the
// first ReloadConfig).
func (m *Manager) Config() *servingpb.ModelServerConfig {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	if m.config == nil {
		return nil
	}
	return proto.Clone(m.config).(*servingpb.ModelServerConfig)
}

// ReloadConfig makes cfg the set of served models, as TF Serving's
// ServerCore::ReloadConfig (and ModelService.HandleReloadConfigRequest) do:
// models missing from cfg are unloaded, new ones are loaded, and existing
// ones pick up their new base path, version policy and labels. A config that
// does not validate is rejected whole and changes nothing.
//
// ReloadConfig waits until every newly added model has finished its first
// poll (loaded, failed, or found no versions) or ctx ends, and returns an
// error naming the new models that did not become available; they stay
// configured and keep being polled.
//
// Labels follow TF Serving: a label may point only at an AVAILABLE version,
// unless AllowVersionLabelsForUnavailableModels is set and the label is new
// or unchanged. Unlike TF Serving, the labels of the very first config are
// checked after its models have loaded (TF Serving rejects them at startup,
// before anything has loaded); a model whose first-config labels are invalid
// gets none and the error is returned.
func (m *Manager) ReloadConfig(ctx context.Context, cfg *servingpb.ModelServerConfig) error {
	m.cfgMu.Lock()
	defer m.cfgMu.Unlock()
	if m.closed {
		return status.New(status.FailedPrecondition, "model manager is closed")
	}
	if cfg == nil || cfg.GetConfig() == nil {
		m.log.Info("Taking no action for empty config.")
		return nil
	}
	list := cfg.GetModelConfigList()
	if list == nil {
		return status.New(status.Unimplemented,
			"custom_model_config is not supported; use model_config_list")
	}
	if m.config != nil && proto.Equal(m.config, cfg) {
		return nil
	}
	old := map[string]*servingpb.ModelConfig{}
	for _, mc := range m.config.GetModelConfigList().GetConfig() {
		old[mc.GetName()] = mc
	}
	if err := validateConfig(list, old); err != nil {
		return err
	}
	if err := m.allowed.CheckConfig(list); err != nil {
		return err
	}
	first := !m.haveFirst.Load()
	var newLabels map[string]map[string]int64
	if !first {
		var err error
		if newLabels, err = m.checkLabels(list.GetConfig()); err != nil {
			return err
		}
	}

	var commit func()
	if m.opts.PrepareConfig != nil {
		var err error
		if commit, err = m.opts.PrepareConfig(list); err != nil {
			return err
		}
	}

	// Apply: new model table, then start, update or stop model goroutines.
	cur := *m.models.Load()
	next := maps.Clone(cur)
	wanted := map[string]bool{}
	var added []*model
	for _, mc := range list.GetConfig() {
		mc = proto.Clone(mc).(*servingpb.ModelConfig)
		wanted[mc.GetName()] = true
		md, ok := next[mc.GetName()]
		if ok && md.isRunning() {
			md.setConfig(mc)
			continue
		}
		if !ok {
			md = newModel(m, mc.GetName())
			next[mc.GetName()] = md
		}
		md.start(mc)
		added = append(added, md)
	}
	var removed []*model
	for name, md := range cur {
		if !wanted[name] && md.isRunning() {
			removed = append(removed, md)
		}
	}
	m.models.Store(&next)
	m.configured.Store(&wanted)
	if !first {
		m.labels.Store(&newLabels)
	}
	m.config = proto.Clone(cfg).(*servingpb.ModelServerConfig)
	m.haveFirst.Store(true)
	if commit != nil {
		commit()
	}
	for _, md := range removed {
		m.log.Info("unloading model removed from config", "model", md.name)
		md.remove()
	}

	errNotAvailable := m.awaitFirstPoll(ctx, added)
	if first {
		labels, err := m.checkFirstLabels(list.GetConfig())
		m.labels.Store(&labels)
		if err != nil {
			err = appliedError{err}
		}
		return errors.Join(errNotAvailable, err)
	}
	return errNotAvailable
}

// appliedError marks an error of a config that was applied anyway: models
// that did not become available, or first-config labels that were dropped.
type appliedError struct{ error }

func (e appliedError) Unwrap() error { return e.error }

// ConfigApplied reports whether ReloadConfig applied its config despite err
// (some models did not become available or lost their labels), as opposed to
// rejecting it.
func ConfigApplied(err error) bool {
	var ae appliedError
	return err == nil || errors.As(err, &ae)
}

// checkLabels builds the label map for a new config, validating each label
// against the current version states (ServerCore::UpdateModelVersionLabelMap).
func (m *Manager) checkLabels(configs []*servingpb.ModelConfig) (map[string]map[string]int64, error) {
	cur := *m.labels.Load()
	models := *m.models.Load()
	out := map[string]map[string]int64{}
	for _, mc := range configs {
		for _, label := range slices.Sorted(maps.Keys(mc.GetVersionLabels())) {
			v := mc.GetVersionLabels()[label]
			allow := false
			if m.opts.AllowVersionLabelsForUnavailableModels {
				existing, ok := cur[mc.GetName()][label]
				allow = !ok || existing == v
			}
			if !allow && !models[mc.GetName()].isAvailable(v) {
				return nil, status.New(status.FailedPrecondition, "Request to assign label to version "+
					strconv.FormatInt(v, 10)+" of model "+mc.GetName()+
					", which is not currently available for inference")
			}
			if out[mc.GetName()] == nil {
				out[mc.GetName()] = map[string]int64{}
			}
			out[mc.GetName()][label] = v
		}
	}
	return out, nil
}

// checkFirstLabels validates the first config's labels per model after the
// initial loads; a model with an invalid label gets no labels.
func (m *Manager) checkFirstLabels(configs []*servingpb.ModelConfig) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	var errs []error
	for _, mc := range configs {
		one, err := m.checkLabels([]*servingpb.ModelConfig{mc})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		maps.Copy(out, one)
	}
	return out, errors.Join(errs...)
}

// awaitFirstPoll waits for the first reconcile of each added model and
// reports those without an AVAILABLE version, in TF Serving's words.
func (m *Manager) awaitFirstPoll(ctx context.Context, added []*model) error {
	for _, md := range added {
		select {
		case <-md.firstPoll:
		case <-ctx.Done():
		case <-m.ctx.Done():
		}
	}
	var parts []string
	for _, md := range added {
		if md.latest() != nil {
			continue
		}
		part := "{name: " + md.name
		if msg := md.lastProblem(); msg != "" {
			part += " due to error: " + msg
		}
		parts = append(parts, part+"}")
	}
	if len(parts) == 0 {
		return nil
	}
	return appliedError{status.New(status.Unknown, strconv.Itoa(len(parts))+
		" model(s) did not become available: {"+strings.Join(parts, ", ")+"}")}
}

// PollConfigFile re-reads a text ModelServerConfig file every interval and
// applies it with ReloadConfig when it changed (--model_config_file_poll_wait_seconds).
// Errors are logged and the previous config keeps serving. It returns when
// ctx ends or the manager is closed.
func (m *Manager) PollConfigFile(ctx context.Context, path string, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		cfg, err := ReadConfigFile(path)
		if err != nil {
			m.log.Error("Failed to read ModelServerConfig file", "path", path, "error", err)
			continue
		}
		if err := m.ReloadConfig(ctx, cfg); err != nil {
			m.log.Error("PollFilesystemAndReloadConfig failed to ReloadConfig", "path", path, "error", err)
		}
	}
}

// Spec names what a request wants: a model and optionally one version or
// one label (not both).
type Spec struct {
	Name       string
	Version    int64
	HasVersion bool
	Label      string
	HasLabel   bool
}

// Get returns a handle on the version spec asks for; the caller must
// Release it. Errors carry TF Serving's codes and messages:
// NotFound "Servable not found for request: Latest(foo)" or
// "Specific(foo, 7)", InvalidArgument "Unrecognized servable version label: L".
func (m *Manager) Get(spec Spec) (Handle, error) {
	if spec.Name == "" {
		return Handle{}, status.New(status.InvalidArgument, "ModelSpec has no name specified.")
	}
	want, specific := spec.Version, spec.HasVersion
	if spec.HasLabel {
		if spec.HasVersion {
			return Handle{}, status.New(status.InvalidArgument, "Both model version ("+
				strconv.FormatInt(spec.Version, 10)+") and model version label ("+spec.Label+
				") cannot be supplied.")
		}
		v, ok := (*m.labels.Load())[spec.Name][spec.Label]
		if !ok {
			return Handle{}, status.New(status.InvalidArgument, "Unrecognized servable version label: "+spec.Label)
		}
		want, specific = v, true
	}
	if md := (*m.models.Load())[spec.Name]; md != nil {
		for range 16 {
			set := md.serving.Load()
			var v *version
			if specific {
				v = set.find(want)
			} else if len(set.versions) > 0 {
				v = set.versions[0]
			}
			if v == nil {
				break
			}
			if v.acquire() {
				return Handle{v: v, name: md.name}, nil
			}
			// v was retired between the snapshot and acquire: retry
			// with the newer snapshot.
		}
	}
	if specific {
		return Handle{}, status.New(status.NotFound, "Servable not found for request: Specific("+
			spec.Name+", "+strconv.FormatInt(want, 10)+")")
	}
	return Handle{}, status.New(status.NotFound, "Servable not found for request: Latest("+spec.Name+")")
}

// ModelStatus returns version states the way GetModelStatus does: for
// spec.HasVersion just that version (NotFound "Could not find version 7 of
// model foo"), otherwise every version ever seen, highest first (NotFound
// "Could not find any versions of model foo"). Like TF Serving, a label is
// ignored here, so a label request lists all versions.
func (m *Manager) ModelStatus(spec Spec) ([]VersionStatus, error) {
	md := (*m.models.Load())[spec.Name]
	if spec.HasVersion {
		if md != nil {
			if st, ok := md.status(spec.Version); ok {
				return []VersionStatus{st}, nil
			}
		}
		return nil, status.New(status.NotFound, "Could not find version "+
			strconv.FormatInt(spec.Version, 10)+" of model "+spec.Name)
	}
	var all []VersionStatus
	if md != nil {
		all = md.allStatus()
	}
	if len(all) == 0 {
		return nil, status.New(status.NotFound, "Could not find any versions of model "+spec.Name)
	}
	return all, nil
}

// Ready reports whether a config has been applied, it names at least one
// model, and every configured model has an AVAILABLE version; notReady lists
// the models that have none. A server whose models were all unloaded (an
// empty config, a reload that removed them) is not ready.
func (m *Manager) Ready() (ready bool, notReady []string) {
	if !m.haveFirst.Load() {
		return false, nil
	}
	configured := 0
	for name, md := range *m.models.Load() {
		if !md.isRunning() {
			continue
		}
		configured++
		if md.latest() == nil {
			notReady = append(notReady, name)
		}
	}
	slices.Sort(notReady)
	return configured > 0 && len(notReady) == 0, notReady
}

// Configured reports whether the current config names a model (whether or
// not it has an AVAILABLE version). It takes no lock: metrics call it on
// every request to keep unknown names out of their labels.
func (m *Manager) Configured(name string) bool {
	return (*m.configured.Load())[name]
}

// Models returns the names of the configured models, sorted.
func (m *Manager) Models() []string {
	var names []string
	for name, md := range *m.models.Load() {
		if md.isRunning() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Close stops polling, unloads every version (waiting for in-flight requests
// to release them) and closes the models. Requests that arrive afterwards get
// NotFound.
func (m *Manager) Close() error {
	m.cancel() // ends polls, retries and a ReloadConfig waiting for loads
	m.cfgMu.Lock()
	if m.closed {
		m.cfgMu.Unlock()
		return nil
	}
	m.closed = true
	m.configured.Store(&map[string]bool{})
	for _, md := range *m.models.Load() {
		if md.isRunning() {
			md.remove()
		}
	}
	m.cfgMu.Unlock()
	m.wg.Wait()
	return nil
}

// describeErr renders an error for logs and version status messages, with
// its credentials redacted.
func describeErr(err error) (status.Code, string) {
	if err == nil {
		return status.OK, ""
	}
	return status.CodeOf(err), redact.Error(err)
}
