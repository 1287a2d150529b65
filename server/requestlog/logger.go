package requestlog

import (
	"errors"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/status"
)

// Defaults of Options.
const (
	DefaultMaxFileBytes  = 64 << 20
	DefaultMaxOpenFiles  = 64
	DefaultQueueRecords  = 4096
	DefaultQueueBytes    = 64 << 20
	DefaultFlushInterval = time.Second
)

// Options configure a Logger. Zero values take the defaults.
type Options struct {
	// Tags are the --saved_model_tags the models were loaded with, logged
	// as log_metadata.saved_model_tags (nil: "serve").
	Tags []string
	// TensorContent is --enable_serialization_as_tensor_content: the
	// PredictResponse logged for a REST predict encodes its outputs as the
	// gRPC API would.
	TensorContent bool
	// MaxFileBytes is the size at which a file is closed and the next one
	// started.
	MaxFileBytes int64
	// MaxOpenFiles bounds the distinct filename_prefix values of a config:
	// each has one collector with one open file.
	MaxOpenFiles int
	// QueueRecords bounds each collector's queue; QueueBytes bounds the
	// serialized records queued in all collectors together.
	QueueRecords int
	QueueBytes   int64
	// FlushInterval is how often a writer flushes its buffer.
	FlushInterval time.Duration
	// Registerer, when set, receives the metrics (see doc.go).
	Registerer prometheus.Registerer
	// Logger receives write errors; nil discards them.
	Logger *slog.Logger
	// Now returns the time (nil: time.Now); for tests.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Tags == nil {
		o.Tags = []string{"serve"}
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = DefaultMaxFileBytes
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if o.QueueRecords <= 0 {
		o.QueueRecords = DefaultQueueRecords
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Logger is the server's request logger (TF Serving's ServerRequestLogger):
// the logging configs of the current model config and their collectors.
// A nil *Logger logs nothing. All methods are safe for concurrent use.
type Logger struct {
	opts   Options
	log    *slog.Logger
	m      *counters
	queued atomic.Int64 // bytes queued in all collectors

	models atomic.Pointer[map[string]*ModelLog]

	mu         sync.Mutex // collectors, closed; serializes Prepare and commits
	collectors map[string]*collector
	closed     bool
	closing    sync.WaitGroup // collectors being closed after a reload
	closeErrs  []error
}

// New returns a Logger with no logging configs.
func New(opts Options) (*Logger, error) {
	opts = opts.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Logger{opts: opts, log: log, m: newCounters(), collectors: map[string]*collector{}}
	if err := l.m.register(opts.Registerer); err != nil {
		return nil, err
	}
	l.models.Store(&map[string]*ModelLog{})
	return l, nil
}

func (l *Logger) now() time.Time { return l.opts.Now() }

// ModelLog is one model's request logger (TF Serving's RequestLogger).
type ModelLog struct {
	l        *Logger
	model    string
	rate     float64
	sampling *servingpb.SamplingConfig
	c        *collector
}

// Prepare checks the logging_config of every model in list (a model
// without one is not logged) and creates the collectors the config needs
// but the current one lacks (their first files). It changes nothing that
// requests see: commit, which cannot fail, makes the config current and
// closes the collectors it no longer names. An error names the model and
// leaves everything as it was. Calls of Prepare and commit must not
// interleave (the manager makes them under its config lock); Update does
// both.
func (l *Logger) Prepare(list *servingpb.ModelConfigList) (commit func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, status.New(status.FailedPrecondition, "request logger is closed")
	}
	var cfgs []*modelConfig
	prefixes := map[string]bool{}
	for _, mc := range list.GetConfig() {
		if mc.GetLoggingConfig() == nil {
			continue
		}
		c, err := parseModelConfig(mc.GetName(), mc.GetLoggingConfig())
		if err != nil {
			return nil, err
		}
		if !prefixes[c.prefix] {
			prefixes[c.prefix] = true
			if len(prefixes) > l.opts.MaxOpenFiles {
				return nil, status.New(status.InvalidArgument, "model "+strconv.Quote(c.model)+
					": logging_config: more than "+strconv.Itoa(l.opts.MaxOpenFiles)+
					" distinct log_collector_config.filename_prefix values in one config")
			}
		}
		cfgs = append(cfgs, c)
	}
	created := map[string]*collector{}
	abort := func() {
		for _, c := range created {
			c.close()
		}
	}
	next := make(map[string]*ModelLog, len(cfgs))
	for _, c := range cfgs {
		col := l.collectors[c.prefix]
		if col == nil {
			col = created[c.prefix]
		}
		if col == nil {
			var err error
			if col, err = newCollector(l, c.prefix); err != nil {
				abort()
				return nil, status.New(status.InvalidArgument, "model "+strconv.Quote(c.model)+": logging_config: "+err.Error())
			}
			created[c.prefix] = col
		}
		next[c.model] = &ModelLog{l: l, model: c.model, rate: c.rate, sampling: c.sampling, c: col}
	}
	for _, mc := range list.GetConfig() {
		if lc := mc.GetLoggingConfig(); lc.GetCustomLoggingConfig() != nil || lc.GetSamplingConfig().GetAttributes() != 0 {
			l.log.Warn("logging_config: custom_logging_config and sampling_config.attributes have no effect in tfserve",
				"model", mc.GetName())
		}
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.closed {
			abort()
			return
		}
		maps.Copy(l.collectors, created)
		l.models.Store(&next)
		for p, col := range l.collectors {
			if prefixes[p] {
				continue
			}
			delete(l.collectors, p)
			l.closing.Add(1)
			go func() {
				defer l.closing.Done()
				if err := col.close(); err != nil {
					l.log.Error("request log: closing a collector the config no longer names", "prefix", p, "error", err)
					l.mu.Lock()
					l.closeErrs = append(l.closeErrs, err)
					l.mu.Unlock()
				}
			}()
		}
	}, nil
}

// Update is Prepare and, when it succeeds, commit.
func (l *Logger) Update(list *servingpb.ModelConfigList) error {
	commit, err := l.Prepare(list)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// Sample decides whether a request for model is logged: it returns the
// model's request logger with probability sampling_rate, else nil (also
// when the model has no logging_config or l is nil).
func (l *Logger) Sample(model string) *ModelLog {
	if l == nil {
		return nil
	}
	ml := (*l.models.Load())[model]
	if ml == nil || !(ml.rate > 0) {
		return nil
	}
	// UniformSampler::Sample: a uniform draw in [0, 1) below the rate.
	if ml.rate < 1 && rand.Float64() >= ml.rate {
		return nil
	}
	return ml
}

// LogRPC logs a successful gRPC Predict, Classify, Regress or
// MultiInference when its model's logging_config samples it; other
// messages are ignored. The model is the response's model_spec name.
func (l *Logger) LogRPC(req, resp proto.Message) {
	if l == nil {
		return
	}
	var name string
	switch r := resp.(type) {
	case *servingpb.PredictResponse:
		name = r.GetModelSpec().GetName()
	case *servingpb.ClassificationResponse:
		name = r.GetModelSpec().GetName()
	case *servingpb.RegressionResponse:
		name = r.GetModelSpec().GetName()
	case *servingpb.MultiInferenceResponse:
		if len(r.GetResults()) == 0 {
			return
		}
		name = r.GetResults()[0].GetModelSpec().GetName()
	default:
		return
	}
	l.Sample(name).Log(req, resp)
}

// Log writes one record of a request and its response, which must be
// one of the pairs of PredictionLog's log types (predict, classify,
// regress, multi_inference); log_metadata.model_spec is the response's.
// The messages are serialized before Log returns and not kept. A nil
// ModelLog logs nothing.
func (ml *ModelLog) Log(req, resp proto.Message) {
	if ml == nil {
		return
	}
	pl := &servingpb.PredictionLog{}
	var spec *servingpb.ModelSpec
	ok := false
	switch rq := req.(type) {
	case *servingpb.PredictRequest:
		var rs *servingpb.PredictResponse
		if rs, ok = resp.(*servingpb.PredictResponse); ok {
			spec = rs.GetModelSpec()
			pl.LogType = &servingpb.PredictionLog_PredictLog{PredictLog: &servingpb.PredictLog{Request: rq, Response: rs}}
		}
	case *servingpb.ClassificationRequest:
		var rs *servingpb.ClassificationResponse
		if rs, ok = resp.(*servingpb.ClassificationResponse); ok {
			spec = rs.GetModelSpec()
			pl.LogType = &servingpb.PredictionLog_ClassifyLog{ClassifyLog: &servingpb.ClassifyLog{Request: rq, Response: rs}}
		}
	case *servingpb.RegressionRequest:
		var rs *servingpb.RegressionResponse
		if rs, ok = resp.(*servingpb.RegressionResponse); ok {
			spec = rs.GetModelSpec()
			pl.LogType = &servingpb.PredictionLog_RegressLog{RegressLog: &servingpb.RegressLog{Request: rq, Response: rs}}
		}
	case *servingpb.MultiInferenceRequest:
		var rs *servingpb.MultiInferenceResponse
		if rs, ok = resp.(*servingpb.MultiInferenceResponse); ok {
			if len(rs.GetResults()) > 0 {
				spec = rs.GetResults()[0].GetModelSpec()
			}
			pl.LogType = &servingpb.PredictionLog_MultiInferenceLog{MultiInferenceLog: &servingpb.MultiInferenceLog{Request: rq, Response: rs}}
		}
	}
	if !ok {
		ml.l.m.enqueued(ml.model, status.InvalidArgument, DropEncode)
		return
	}
	pl.LogMetadata = &servingpb.LogMetadata{
		ModelSpec:      spec,
		SamplingConfig: ml.sampling,
		SavedModelTags: ml.l.opts.Tags,
		TimestampSecs:  ml.l.now().Unix(),
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pl)
	if err != nil {
		ml.l.m.enqueued(ml.model, status.Internal, DropEncode)
		return
	}
	code, reason := ml.c.enqueue(record{model: ml.model, b: b})
	ml.l.m.enqueued(ml.model, code, reason)
}

// Flush writes every record queued so far and flushes the files' buffers
// (not a sync: the data survives a crash of the process, not of the
// machine, as TF's LogCollector::Flush).
func (l *Logger) Flush() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	cols := make([]*collector, 0, len(l.collectors))
	for _, c := range l.collectors {
		cols = append(cols, c)
	}
	l.mu.Unlock()
	var errs []error
	for _, c := range cols {
		errs = append(errs, c.flushNow())
	}
	return errors.Join(errs...)
}

// Close stops logging, writes every queued record, and flushes, syncs and
// closes every file. Records logged afterwards are dropped (reason
// "closed"). It returns the errors of closing files.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	cols := l.collectors
	l.collectors = map[string]*collector{}
	l.models.Store(&map[string]*ModelLog{})
	l.mu.Unlock()
	var errs []error
	for _, c := range cols {
		errs = append(errs, c.close())
	}
	l.closing.Wait()
	l.mu.Lock()
	errs = append(errs, l.closeErrs...)
	l.mu.Unlock()
	return errors.Join(errs...)
}

// Configured reports whether model has a logging_config in the current
// config.
func (l *Logger) Configured(model string) bool {
	return l != nil && (*l.models.Load())[model] != nil
}
