package restapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/panics"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/requestlog"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/server/workers"
)

// DefaultMaxBodyBytes is the default request body limit (after gzip
// decompression too). TF Serving has no limit on plain bodies and caps
// decompressed gzip bodies at 100 MiB.
const DefaultMaxBodyBytes = 64 << 20

// Models is what the REST server needs from the model manager
// (*manager.Manager implements it).
type Models interface {
	Get(spec manager.Spec) (manager.Handle, error)
	ModelStatus(spec manager.Spec) ([]manager.VersionStatus, error)
	Ready() (bool, []string)
}

// RequestInfo describes one finished /v1/ request, for metrics and the
// access log.
type RequestInfo struct {
	Model   string // "" when the path did not parse
	API     string // "predict", "classify", "regress", "status", "metadata" or ""
	Code    status.Code
	Elapsed time.Duration
	// Version is the version that served the request (predict, classify,
	// regress, metadata); 0 when none did.
	Version int64
	// HTTPStatus is the response's status code.
	HTTPStatus int
	// RequestBytes and ResponseBytes are the bodies' sizes as sent (a gzip
	// request body compressed).
	RequestBytes, ResponseBytes int64
	// Client is the peer's address.
	Client net.Addr
}

// Options configure a Server.
type Options struct {
	// Models serves the requests. Required.
	Models Models
	// Timeout is --rest_api_timeout_in_ms: the deadline of each model run
	// (DeadlineExceeded, HTTP 504, when it passes). Zero means none.
	Timeout time.Duration
	// EnableCORS is --rest_api_enable_cors_support.
	EnableCORS bool
	// MaxBodyBytes limits request bodies, before and after gzip
	// decompression; larger ones get 413 with a TF-style error body.
	// Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int
	// MaxConcurrentRequests is --rest_api_num_threads: how many /v1/
	// requests are processed at once; others wait. Zero means 4 × CPUs,
	// TF Serving's default.
	MaxConcurrentRequests int
	// EnableSignatureMethodNameCheck is --enable_signature_method_name_check:
	// predict, classify and regress insist on the signature's method_name.
	EnableSignatureMethodNameCheck bool
	// Handlers serve exact paths outside /v1/ (for example the Prometheus
	// metrics path), any method. /healthz and /readyz are built in.
	Handlers map[string]fasthttp.RequestHandler
	// Observe, when set, is called after every /v1/ request.
	Observe func(RequestInfo)
	// RequestLog, when set, logs the successful predict, classify and
	// regress requests its models' logging_config samples (package
	// server/requestlog), as the gRPC API's protos.
	RequestLog *requestlog.Logger
	// Logger receives request errors at debug level; nil discards them.
	Logger *slog.Logger
	// Limits bound each predict, classify and regress request (JSON depth,
	// tensor rank, elements and bytes) and its response
	// (--request_max_* and --response_max_bytes). Zero fields take the
	// defaults of package servable/limits.
	Limits limits.Request
	// ReadTimeout bounds reading one request, headers and body
	// (--rest_api_read_timeout_ms); a request still arriving then gets 408
	// and its connection is closed. WriteTimeout bounds writing a response
	// (--rest_api_write_timeout_ms). IdleTimeout bounds an idle keep-alive
	// connection (--rest_api_idle_timeout_ms). Zero means 60 s, 60 s and
	// 2 minutes.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxConnections is --rest_api_max_connections: connections beyond it
	// are answered 503 and closed at once. Zero means 10000.
	MaxConnections int
	// MaxHeaderBytes is --rest_api_max_header_bytes: the request line and
	// headers must fit, else 431. Zero means 16 KiB.
	MaxHeaderBytes int
	// Admission, when set, decides before a worker is taken whether a
	// predict, classify or regress request runs now, waits, or is refused
	// (503 with Retry-After); see admission.go.
	Admission *admission.Limiter
	// MLflow configures MLflow's scoring protocol on this port (/invocations,
	// /ping, /health, /version; see mlflow.go).
	MLflow MLflowOptions
	// Lister lists the served models for GET /v1/models and MLflow's
	// default model; nil means Models, when it implements ModelLister.
	Lister ModelLister
	// V2, when set, serves /v2 and every path under /v2/ (the Open
	// Inference Protocol, package server/kserve).
	V2 fasthttp.RequestHandler
	// Workers, when set, is the worker pool of MaxConcurrentRequests
	// slots, shared with V2's handler; nil: New makes one.
	Workers *workers.Pool
}

// Defaults of the connection options.
const (
	DefaultReadTimeout    = 60 * time.Second
	DefaultWriteTimeout   = 60 * time.Second
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMaxConnections = 10_000
	DefaultMaxHeaderBytes = 16 << 10
)

// Server is TF Serving's REST API on fasthttp.
type Server struct {
	opts   Options
	limits limits.Request // opts.Limits with defaults
	log    *slog.Logger
	srv    *fasthttp.Server
	pool   *workers.Pool
	bufs   sync.Pool // *[]byte response and scratch buffers
	// deadlines ends the model runs at --rest_api_timeout_in_ms
	// (runctx.go).
	deadlines runDeadlines
	gz        sync.Pool // *gzip.Reader
}

// New returns a Server; start it with Serve or ListenAndServe.
func New(opts Options) (*Server, error) {
	if opts.Models == nil {
		return nil, errors.New("restapi: Options.Models is required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxConcurrentRequests <= 0 {
		opts.MaxConcurrentRequests = 4 * runtime.NumCPU()
	}
	opts.Limits = opts.Limits.WithDefaults()
	opts.ReadTimeout = orDefault(opts.ReadTimeout, DefaultReadTimeout)
	opts.WriteTimeout = orDefault(opts.WriteTimeout, DefaultWriteTimeout)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, DefaultIdleTimeout)
	opts.MaxConnections = orDefault(opts.MaxConnections, DefaultMaxConnections)
	opts.MaxHeaderBytes = orDefault(opts.MaxHeaderBytes, DefaultMaxHeaderBytes)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool := opts.Workers
	if pool == nil {
		pool = workers.New(opts.MaxConcurrentRequests)
	}
	s := &Server{opts: opts, limits: opts.Limits, log: log, pool: pool}
	// fasthttp reads a whole request (under ReadTimeout) before it calls
	// handle, so a slow client holds a connection, never a worker slot.
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleError,
		Name:                         "tfserve",
		MaxRequestBodySize:           opts.MaxBodyBytes,
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 opts.WriteTimeout,
		IdleTimeout:                  opts.IdleTimeout,
		Concurrency:                  opts.MaxConnections,
		ReadBufferSize:               opts.MaxHeaderBytes,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{log},
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp", "msg", format, "args", args)
}

// Handler returns the request handler, for embedding in another fasthttp
// server.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Serve serves requests on ln until Shutdown (accepting at a bounded
// rate while admission control sheds connections).
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(s.opts.Admission.Listener(ln)) }

// ListenAndServe listens on addr (e.g. ":8501") and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("REST API: %w", err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.ShutdownWithContext(ctx) }

func (s *Server) getBuf() *[]byte {
	if p, ok := s.bufs.Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, 4096)
	return &b
}

func (s *Server) putBuf(p *[]byte) {
	if cap(*p) <= 4<<20 {
		s.bufs.Put(p)
	}
}

var (
	contentTypeJSON = []byte("application/json")
	corsHeaders     = [...][2]string{
		{"Access-Control-Allow-Origin", "*"},
		{"Access-Control-Allow-Methods", "POST, GET"},
		{"Access-Control-Allow-Headers", "Content-Type"},
	}
)

func (s *Server) headers(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	if s.opts.EnableCORS {
		for _, h := range corsHeaders {
			ctx.Response.Header.Set(h[0], h[1])
		}
	}
}

// handleError answers requests fasthttp could not read: body too large
// (413), headers too large (431), too slow (408) or malformed (400), with a
// TF-style error body.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	s.headers(ctx)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
		ctx.SetBody(jsontensor.AppendErrorResponse(nil, "Request body is larger than the limit of "+
			strconv.Itoa(s.opts.MaxBodyBytes)+" bytes (--rest_api_max_body_bytes)"))
		return
	case errors.As(err, &small):
		ctx.SetStatusCode(fasthttp.StatusRequestHeaderFieldsTooLarge)
		ctx.SetBody(jsontensor.AppendErrorResponse(nil, "Request headers are larger than the limit of "+
			strconv.Itoa(s.opts.MaxHeaderBytes)+" bytes (--rest_api_max_header_bytes)"))
		return
	case errors.As(err, &netErr) && netErr.Timeout():
		ctx.SetStatusCode(fasthttp.StatusRequestTimeout)
		ctx.SetBody(jsontensor.AppendErrorResponse(nil, "Request was not received within "+
			s.opts.ReadTimeout.String()+" (--rest_api_read_timeout_ms)"))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusBadRequest)
	ctx.SetBody(jsontensor.AppendErrorResponse(nil, "Malformed HTTP request: "+err.Error()))
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)
	path := requestPath(ctx)
	if !uriConforms(path) {
		// net_http's ParsedEvRequest::decode failed: libevent's page.
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		ctx.Response.Header.SetContentType("text/html")
		ctx.SetConnectionClose()
		ctx.SetBodyString(badRequestPage)
		return
	}
	if !underV1(path) {
		s.handleOther(ctx)
		return
	}
	start := time.Now()
	method := methodString(ctx.Method())
	r := parseRoute(method, path)
	var deadline time.Time
	if r.kind.runsModel() && !r.badVersion {
		var ok bool
		if deadline, ok = s.clientDeadline(ctx, &r, start); !ok {
			return
		}
		if s.opts.Admission != nil {
			tk, ok := s.admit(ctx, &r, start, deadline)
			if !ok {
				return
			}
			defer func() { tk.Release(ctx.Response.StatusCode() == fasthttp.StatusOK) }()
		}
	}
	// The version that serves the request is recorded through rn.served,
	// copied into r.served after dispatch: pointing rn into r would move
	// the whole route to the heap (rn's slot and deadline leave through the
	// run's context). The slot, the served version and the run's context
	// share one allocation.
	rq := new(request)
	s.pool.TakeInto(&rq.slot)
	defer rq.slot.Release()
	rn := runner{slot: &rq.slot, served: &rq.served, deadline: deadline, rc: &rq.run}
	s.headers(ctx)
	if method == "OPTIONS" {
		// CORS preflight, as TF Serving's http_server.cc answers it.
		if originIsHTTP(ctx.Request.Header.Peek("Origin")) {
			ctx.SetStatusCode(fasthttp.StatusOK)
		} else {
			ctx.SetStatusCode(status.HTTPStatus(status.FailedPrecondition))
		}
		return
	}
	if r.badVersion {
		// ParseModelInfo fails before any JSON is written: empty body.
		s.finish(ctx, &r, start, status.InvalidArgument, 0, nil)
		return
	}
	bp := s.getBuf()
	defer s.putBuf(bp)
	out, err := s.dispatch(ctx, rn, &r, method, path, *bp)
	r.served = rq.served
	httpStatus := 0
	if err != nil {
		out = jsontensor.AppendErrorResponse(out[:0], err.Error())
		var tooLarge errBodyTooLarge
		if errors.As(err, &tooLarge) {
			httpStatus = fasthttp.StatusRequestEntityTooLarge
		}
	}
	*bp = out
	s.finish(ctx, &r, start, status.CodeOf(err), httpStatus, out)
	if err != nil && s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("Error Processing HTTP/REST request", "method", method, "path", path, "error", status.StatusString(err))
	}
}

// recoverPanic turns a panic in a handler (fasthttp does not recover them)
// into 500 {"error": "Internal error (id ...)"}; the panic value and stack
// go only to the log, at error level, under the same id.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	err := panics.Error(s.log, v, "HTTP/REST handler", "method", string(ctx.Method()), "path", string(ctx.Path()))
	ctx.Response.Reset()
	s.headers(ctx)
	ctx.SetStatusCode(fasthttp.StatusInternalServerError)
	ctx.SetBody(jsontensor.AppendErrorResponse(nil, err.Error()))
}

// finish writes the status (httpStatus, or the code's HTTP status when 0)
// and body.
func (s *Server) finish(ctx *fasthttp.RequestCtx, r *route, start time.Time, code status.Code, httpStatus int, body []byte) {
	if httpStatus == 0 {
		httpStatus = status.HTTPStatus(code)
	}
	ctx.SetStatusCode(httpStatus)
	ctx.Response.SetBody(body)
	if s.opts.Observe != nil {
		s.opts.Observe(RequestInfo{Model: r.name, API: apiName(r.kind), Code: code, Elapsed: time.Since(start),
			Version: r.served, HTTPStatus: httpStatus, RequestBytes: int64(len(ctx.Request.Body())),
			ResponseBytes: int64(len(body)), Client: ctx.RemoteAddr()})
	}
}

func apiName(k routeKind) string {
	switch k {
	case routePredict:
		return "predict"
	case routeClassify:
		return "classify"
	case routeRegress:
		return "regress"
	case routeStatus:
		return "status"
	case routeMetadata:
		return "metadata"
	}
	return ""
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx, rn runner, r *route, method, path string, out []byte) ([]byte, error) {
	spec := manager.Spec{Name: r.name, Version: r.version, HasVersion: r.hasVersion, Label: r.label, HasLabel: r.hasLabel}
	switch r.kind {
	case routeStatus, routeMetadata:
		if isModelList(r) {
			return s.appendModelList(out) // GET /v1/models: our extension
		}
		if r.name == "" {
			return out, status.New(status.InvalidArgument, "Missing model name in request.")
		}
		if r.hasVersion && r.hasLabel {
			return out, bothError(r)
		}
		if r.kind == routeStatus {
			sts, err := s.opts.Models.ModelStatus(spec)
			if err != nil {
				return out, err
			}
			return appendStatusJSON(out, sts), nil
		}
		h, err := s.opts.Models.Get(spec)
		if err != nil {
			return out, err
		}
		defer h.Release()
		rn.serve(h)
		return appendMetadataJSON(out, h.Name(), h.Version(), h.Signatures()), nil
	case routePredict, routeClassify, routeRegress:
		if r.hasVersion && r.hasLabel {
			return out, bothError(r)
		}
		body, release, err := s.body(ctx)
		if err != nil {
			return out, err
		}
		defer release()
		switch r.kind {
		case routePredict:
			return s.predict(spec, rn, body, out)
		case routeClassify:
			return s.classify(spec, rn, body, out)
		default:
			return s.regress(spec, rn, body, out)
		}
	}
	return out, status.New(status.InvalidArgument, "Malformed request: "+method+" "+path)
}

func bothError(r *route) error {
	return status.New(status.InvalidArgument, "Both model version ("+strconv.FormatInt(r.version, 10)+
		") and model version label ("+r.label+") cannot be supplied.")
}

// body returns the request body, gunzipped when Content-Encoding says gzip
// (as TF Serving's net_http does), within MaxBodyBytes.
func (s *Server) body(ctx *fasthttp.RequestCtx) ([]byte, func(), error) {
	raw := ctx.PostBody()
	if !bytes.Contains(ctx.Request.Header.Peek("Content-Encoding"), []byte("gzip")) {
		return raw, func() {}, nil
	}
	zr, _ := s.gz.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	} else {
		err = zr.Reset(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, nil, status.New(status.InvalidArgument, "Failed to uncompress the gzipped body: "+err.Error())
	}
	bp := s.getBuf()
	buf := bytes.NewBuffer(*bp)
	n, err := buf.ReadFrom(io.LimitReader(zr, int64(s.opts.MaxBodyBytes)+1))
	s.gz.Put(zr)
	*bp = buf.Bytes()
	release := func() { s.putBuf(bp) }
	if err != nil {
		release()
		return nil, nil, status.New(status.InvalidArgument, "Failed to uncompress the gzipped body: "+err.Error())
	}
	if n > int64(s.opts.MaxBodyBytes) {
		release()
		return nil, nil, errBodyTooLarge{s.opts.MaxBodyBytes}
	}
	return *bp, release, nil
}

// errBodyTooLarge is answered with HTTP 413 (its code, ResourceExhausted, is
// what metrics see).
type errBodyTooLarge struct{ limit int }

func (e errBodyTooLarge) Unwrap() error { return status.New(status.ResourceExhausted, e.Error()) }

func (e errBodyTooLarge) Error() string {
	return "Uncompressed request body is larger than the limit of " + strconv.Itoa(e.limit) +
		" bytes (--rest_api_max_body_bytes)"
}

// handleOther serves paths outside /v1/: /healthz, /readyz, extra handlers,
// else a bare 404 (TF Serving ignores them).
func (s *Server) handleOther(ctx *fasthttp.RequestCtx) {
	p := string(ctx.Path())
	if h, ok := s.opts.Handlers[p]; ok {
		h(ctx)
		return
	}
	if s.serveMLflow(ctx, p) {
		return
	}
	if s.opts.V2 != nil && (p == "/v2" || strings.HasPrefix(p, "/v2/")) {
		s.opts.V2(ctx)
		return
	}
	switch p {
	case "/healthz":
		s.headers(ctx)
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetBodyString("{\"status\": \"ok\"}\n")
		return
	case "/readyz":
		s.headers(ctx)
		ready, notReady := s.opts.Models.Ready()
		if ready {
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetBodyString("{\"status\": \"ready\"}\n")
			return
		}
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		b := append([]byte(nil), "{\"status\": \"not ready\", \"models_not_available\": ["...)
		for i, n := range notReady {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendProtoJSONString(b, n)
		}
		ctx.SetBody(append(b, "]}\n"...))
		return
	}
	s.headers(ctx)
	ctx.SetStatusCode(fasthttp.StatusNotFound)
}

// methodString is string(m), without allocating for the usual methods.
func methodString(m []byte) string {
	switch string(m) {
	case "POST":
		return "POST"
	case "GET":
		return "GET"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(m)
}

// requestPath is the raw path and query of the request, as TF Serving's
// uri_path() has it (not URL-decoded, not normalized).
func requestPath(ctx *fasthttp.RequestCtx) string {
	uri := ctx.Request.Header.RequestURI()
	if len(uri) > 0 && uri[0] == '/' {
		return string(uri)
	}
	// Absolute-form request target: keep path and query only.
	u := ctx.URI()
	p := string(u.PathOriginal())
	if q := u.QueryString(); len(q) > 0 {
		p += "?" + string(q)
	}
	return p
}

// originIsHTTP is RE2::PartialMatch(origin, "https?://").
func originIsHTTP(origin []byte) bool {
	return bytes.Contains(origin, []byte("http://")) || bytes.Contains(origin, []byte("https://"))
}
