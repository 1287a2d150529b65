package kserve

import (
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/restapi"
	"github.com/tfserve/tfserve/server/workers"
)

// Models is what the protocol needs from the model manager
// (*manager.Manager implements it).
type Models interface {
	Get(spec manager.Spec) (manager.Handle, error)
	ModelStatus(spec manager.Spec) ([]manager.VersionStatus, error)
	Ready() (bool, []string)
}

// Options configure a Server.
type Options struct {
	// Models serves the requests. Required.
	Models Models
	// Name and Version are what server metadata answers ("tfserve" and
	// "dev" when empty).
	Name, Version string
	// Admission, when set, admits infer requests (REST here; gRPC through
	// package grpcapi's interceptor, which runs before the service): the
	// limiter TF Serving's APIs share.
	Admission *admission.Limiter
	// Workers bounds the REST requests processed at once
	// (--rest_api_num_threads); share restapi's pool. Nil: a pool of
	// 4 × CPUs.
	Workers *workers.Pool
	// Timeout is --rest_api_timeout_in_ms: the deadline of each REST model
	// run. gRPC runs end at the call's deadline.
	Timeout time.Duration
	// MaxBodyBytes bounds a REST body after Content-Encoding is undone
	// (--rest_api_max_body_bytes); zero means restapi.DefaultMaxBodyBytes.
	MaxBodyBytes int
	// Limits bound each infer request and its response (--request_max_*,
	// --response_max_bytes); zero fields take limits' defaults.
	Limits limits.Request
	// EnableSignatureMethodNameCheck is --enable_signature_method_name_check.
	EnableSignatureMethodNameCheck bool
	// Observe, when set, is called after every REST infer, model metadata
	// and model ready request (infer as API "predict", so that metrics
	// count it as a Predict).
	Observe func(restapi.RequestInfo)
	// Logger receives request errors at debug level; nil discards them.
	Logger *slog.Logger
}

// Server serves the Open Inference Protocol over REST (HandleHTTP, under
// /v2) and gRPC (Register).
type Server struct {
	opts   Options
	limits limits.Request
	log    *slog.Logger
	pool   *workers.Pool
	bufs   sync.Pool // *[]byte

	kservepb.UnimplementedGRPCInferenceServiceServer
}

// ServiceName is the gRPC service's full name.
const ServiceName = "inference.GRPCInferenceService"

// Platform is what model metadata names as every model's platform.
const Platform = "tensorflow_savedmodel"

// Extensions lists the protocol extensions served (server metadata).
var Extensions = []string{"binary_tensor_data"}

// New returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Models == nil {
		return nil, errors.New("kserve: Options.Models is required")
	}
	if opts.Name == "" {
		opts.Name = "tfserve"
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = restapi.DefaultMaxBodyBytes
	}
	opts.Limits = opts.Limits.WithDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool := opts.Workers
	if pool == nil {
		pool = workers.New(4 * runtime.NumCPU())
	}
	return &Server{opts: opts, limits: opts.Limits, log: log, pool: pool}, nil
}

// Register registers inference.GRPCInferenceService on r (grpcapi's
// server, before it serves).
func (s *Server) Register(r grpc.ServiceRegistrar) {
	kservepb.RegisterGRPCInferenceServiceServer(r, s)
}

// spec turns the protocol's model name and version string into a manager
// spec: an empty version is the latest available one, digits a version
// number, anything else a TF Serving version label (our extension).
func spec(name, version string) (manager.Spec, error) {
	if name == "" {
		return manager.Spec{}, status.New(status.InvalidArgument, "Missing model name in request")
	}
	sp := manager.Spec{Name: name}
	if version == "" {
		return sp, nil
	}
	if isDigits(version) {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return sp, status.New(status.InvalidArgument, "Model version "+version+" does not fit an int64")
		}
		sp.Version, sp.HasVersion = v, true
		return sp, nil
	}
	sp.Label, sp.HasLabel = version, true
	return sp, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// modelReady reports whether spec resolves to an AVAILABLE version. A model
// that is not served or has no such version is not ready (no error, as
// Triton answers); a malformed version string or unknown label is an error.
func (s *Server) modelReady(name, version string) (bool, error) {
	sp, err := spec(name, version)
	if err != nil {
		return false, err
	}
	h, err := s.opts.Models.Get(sp)
	if err != nil {
		if status.CodeOf(err) == status.NotFound || status.CodeOf(err) == status.Unavailable {
			return false, nil
		}
		return false, err
	}
	h.Release()
	return true, nil
}

// tensorMeta is one input or output of model metadata.
type tensorMeta struct {
	name, datatype string
	shape          []int64
}

// modelMeta is a model's metadata, as both protocols print it.
type modelMeta struct {
	name     string
	versions []string
	inputs   []tensorMeta
	outputs  []tensorMeta
	version  int64 // the version described
}

// modelMetadata describes the signature infer runs by default
// (serving_default) of the version spec resolves to; versions lists every
// AVAILABLE version, ascending.
func (s *Server) modelMetadata(name, version string) (*modelMeta, error) {
	sp, err := spec(name, version)
	if err != nil {
		return nil, err
	}
	h, err := s.opts.Models.Get(sp)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	sig, err := servable.PredictSignature(h.Signatures(), servable.DefaultSignature, s.opts.EnableSignatureMethodNameCheck)
	if err != nil {
		return nil, err
	}
	md := &modelMeta{name: h.Name(), version: h.Version(), inputs: describe(sig.Inputs), outputs: describe(sig.Outputs)}
	sts, err := s.opts.Models.ModelStatus(manager.Spec{Name: h.Name()})
	if err == nil {
		var vs []int64
		for _, st := range sts {
			if st.State == manager.StateAvailable {
				vs = append(vs, st.Version)
			}
		}
		slices.Sort(vs)
		for _, v := range vs {
			md.versions = append(md.versions, strconv.FormatInt(v, 10))
		}
	}
	if len(md.versions) == 0 {
		md.versions = []string{strconv.FormatInt(h.Version(), 10)}
	}
	return md, nil
}

// describe lists a signature's tensors by alias, sorted; an unknown rank is
// printed as [-1] (the protocol has no way to say it).
func describe(m map[string]servable.TensorInfo) []tensorMeta {
	out := make([]tensorMeta, 0, len(m))
	for _, a := range sortedKeys(m) {
		ti := m[a]
		tm := tensorMeta{name: a, datatype: DatatypeOf(ti.DType)}
		if ti.UnknownRank {
			tm.shape = []int64{-1}
		} else {
			tm.shape = make([]int64, len(ti.Dims))
			for i, d := range ti.Dims {
				tm.shape[i] = d.Size
				if d.Size < 0 {
					tm.shape[i] = -1
				}
			}
		}
		out = append(out, tm)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
