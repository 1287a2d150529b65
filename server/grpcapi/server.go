package grpcapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/tfserve/tfserve/proto/kservepb"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/requestlog"
	"github.com/tfserve/tfserve/server/workers"
)

// Models is what the gRPC services need from the model manager
// (*manager.Manager implements it).
type Models interface {
	Get(spec manager.Spec) (manager.Handle, error)
	ModelStatus(spec manager.Spec) ([]manager.VersionStatus, error)
	ReloadConfig(ctx context.Context, cfg *servingpb.ModelServerConfig) error
}

// RequestInfo describes one finished RPC, for metrics and the access log.
type RequestInfo struct {
	Model   string // "" when the request named none
	API     string // "predict", "classify", "regress", "multi_inference", "metadata", "status", "reload_config"
	Code    status.Code
	Elapsed time.Duration
	// Version is the version that served the request (the response's
	// model_spec); 0 when none did.
	Version int64
	// RequestBytes and ResponseBytes are the messages' serialized sizes
	// (0 for a response not sent).
	RequestBytes, ResponseBytes int64
	// Client is the peer's address (nil when unknown).
	Client net.Addr
}

// Options configure a Server.
type Options struct {
	// Models serves the requests. Required.
	Models Models
	// EnableSignatureMethodNameCheck is --enable_signature_method_name_check.
	EnableSignatureMethodNameCheck bool
	// TensorContent is --enable_serialization_as_tensor_content: Predict
	// outputs use tensor_content instead of the typed repeated fields.
	TensorContent bool
	// EnableHealthService is --enable_grpc_healthcheck_service: serve
	// grpc.health.v1.Health ("" and both service names SERVING while up).
	EnableHealthService bool
	// ChannelArguments is the parsed --grpc_channel_arguments.
	ChannelArguments []ChannelArgument
	// Limits bound each request's decoded inputs (tensors and merged
	// tf.Examples) and its encoded response (flags --request_max_*,
	// --response_max_bytes). Zero fields take limits' defaults.
	Limits limits.Request
	// TLS, when set, serves TLS on every listener (--ssl_config_file, built
	// by package tlsconfig). TF Serving uses one set of credentials for all
	// its ports, the UNIX socket included.
	TLS *tls.Config
	// MaxConcurrentRequests is --grpc_max_threads: how many RPCs run at
	// once; others wait (until their deadline). Zero: no limit.
	MaxConcurrentRequests int
	// Admission, when set, decides before a worker is taken whether a
	// Predict, Classify, Regress or MultiInference RPC runs now, waits, or
	// is refused with RESOURCE_EXHAUSTED; see admission.go.
	Admission *admission.Limiter
	// Observe, when set, is called after every tensorflow.serving RPC.
	Observe func(RequestInfo)
	// RequestLog, when set, logs the successful Predict, Classify, Regress
	// and MultiInference RPCs its models' logging_config samples (package
	// server/requestlog).
	RequestLog *requestlog.Logger
	// Logger receives request errors at debug level; nil discards them.
	Logger *slog.Logger
}

// Server is TF Serving's gRPC API.
type Server struct {
	opts   Options
	log    *slog.Logger
	srv    *grpc.Server
	health *health.Server
	pool   *workers.Pool

	servingpb.UnimplementedPredictionServiceServer
	servingpb.UnimplementedModelServiceServer
}

// Service names, as registered.
const (
	PredictionServiceName = "tensorflow.serving.PredictionService"
	ModelServiceName      = "tensorflow.serving.ModelService"
)

// New returns a Server with its services registered; start it with Serve.
// Channel arguments grpc-go has no equivalent for are logged and ignored.
func New(opts Options) (*Server, error) {
	if opts.Models == nil {
		return nil, errors.New("grpcapi: Options.Models is required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cs, ignored, err := applyChannelArguments(opts.ChannelArguments, opts.Limits)
	if err != nil {
		return nil, err
	}
	for _, k := range ignored {
		log.Warn("gRPC channel argument has no effect in tfserve", "key", k)
	}
	s := &Server{opts: opts, log: log}
	if opts.MaxConcurrentRequests > 0 {
		s.pool = workers.New(opts.MaxConcurrentRequests)
	}
	// A fixed set of stream workers avoids a goroutine (and its stack
	// growth) per RPC; a shared write buffer avoids one per connection.
	sopts := append(cs.serverOptions(), grpc.ChainUnaryInterceptor(s.intercept), grpc.ChainStreamInterceptor(s.interceptStream),
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))), grpc.SharedWriteBuffer(true))
	if opts.TLS != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	s.srv = grpc.NewServer(sopts...)
	servingpb.RegisterPredictionServiceServer(s.srv, s)
	servingpb.RegisterModelServiceServer(s.srv, s)
	if opts.EnableHealthService {
		s.health = health.NewServer()
		for _, name := range []string{"", PredictionServiceName, ModelServiceName} {
			s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
		}
		healthpb.RegisterHealthServer(s.srv, s.health)
	}
	reflection.Register(s.srv)
	return s, nil
}

// GRPCServer returns the underlying grpc.Server (to register more services
// before Serve).
func (s *Server) GRPCServer() *grpc.Server { return s.srv }

// Serve serves on ln until Stop or GracefulStop. It may be called for
// several listeners (TCP and a UNIX socket).
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown marks the health service NOT_SERVING, stops accepting, and waits
// until ctx ends for the RPCs in flight; then it cancels the rest.
func (s *Server) Shutdown(ctx context.Context) {
	if s.health != nil {
		s.health.Shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.srv.Stop()
		<-done
	}
}

// intercept limits concurrency, turns panics into INTERNAL and our status
// errors into gRPC statuses.
func (s *Server) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	tk, err := s.admit(ctx, req)
	if err != nil {
		return nil, err
	}
	defer func() { tk.Release(err == nil) }()
	if s.pool != nil {
		slot, err := s.pool.TakeContext(ctx)
		if err != nil {
			return nil, toGRPC(contextError(err))
		}
		defer slot.Release()
		// A batching queue gives the slot back while its batch fills.
		ctx = workers.NewContext(ctx, slot)
	}
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, s.recovered(info.FullMethod, r)
		}
		if s.opts.Observe != nil {
			if api, model := describe(req); api != "" {
				s.opts.Observe(requestInfo(ctx, model, api, req, resp, err, start))
			}
		}
		if err != nil && s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("gRPC request failed", "method", info.FullMethod, "error", status.StatusString(err))
		}
		err = toGRPC(err)
	}()
	resp, err = handler(ctx, req)
	if err == nil {
		s.logRequest(req, resp)
	}
	return resp, err
}

// interceptStream turns a panic in a streaming handler (health Watch,
// reflection) into INTERNAL, as intercept does for unary ones.
func (s *Server) interceptStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = toGRPC(s.recovered(info.FullMethod, r))
		}
	}()
	return handler(srv, ss)
}

// recovered logs a handler's panic with its stack under a fresh id and
// returns the INTERNAL error the client gets: the id only, so that nothing
// of the server's state reaches the client.
func (s *Server) recovered(method string, r any) error {
	id := fmt.Sprintf("%016x", rand.Uint64())
	s.log.Error("panic in gRPC handler", "id", id, "method", method, "panic", r, "stack", string(debug.Stack()))
	return status.New(status.Internal, "Internal error (id "+id+")")
}

// describe names the API and model of a tensorflow.serving request (and
// of KServe v2's ModelInfer and ModelMetadata).
func describe(req any) (api, model string) {
	switch r := req.(type) {
	case *servingpb.PredictRequest:
		return "predict", r.GetModelSpec().GetName()
	case *servingpb.ClassificationRequest:
		return "classify", r.GetModelSpec().GetName()
	case *servingpb.RegressionRequest:
		return "regress", r.GetModelSpec().GetName()
	case *servingpb.MultiInferenceRequest:
		if len(r.GetTasks()) > 0 {
			model = r.GetTasks()[0].GetModelSpec().GetName()
		}
		return "multi_inference", model
	case *servingpb.GetModelMetadataRequest:
		return "metadata", r.GetModelSpec().GetName()
	case *servingpb.GetModelStatusRequest:
		return "status", r.GetModelSpec().GetName()
	case *servingpb.ReloadConfigRequest:
		return "reload_config", ""
	case *kservepb.ModelInferRequest: // the Open Inference Protocol (server/kserve)
		return "predict", r.GetModelName()
	case *kservepb.ModelMetadataRequest:
		return "metadata", r.GetName()
	}
	return "", ""
}

// toGRPC converts an error to a gRPC status error: a status.Error keeps its
// code (the numbers are equal) and message; context errors become
// DEADLINE_EXCEEDED or CANCELLED; anything else is UNKNOWN.
func toGRPC(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := grpcstatus.FromError(err); ok {
		return err
	}
	var se *status.Error
	if errors.As(err, &se) {
		return grpcstatus.Error(codes.Code(se.Code), se.Msg)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		se := contextError(err).(*status.Error)
		return grpcstatus.Error(codes.Code(se.Code), se.Msg)
	}
	return grpcstatus.Error(codes.Unknown, err.Error())
}

func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(status.DeadlineExceeded, "Deadline Exceeded")
	}
	return status.New(status.Cancelled, "Cancelled")
}
