package kserve

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/restapi"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/server/workers"
	"github.com/tfserve/tfserve/tensor"
)

// HeaderContentLength is the binary data extension's header: the length
// of the JSON part of a body that binary tensor data follows.
const HeaderContentLength = "Inference-Header-Content-Length"

// IsPath reports whether path (decoded, without the query) is one this
// protocol serves: /v2 and everything under /v2/.
func IsPath(path string) bool {
	return path == "/v2" || strings.HasPrefix(path, "/v2/")
}

var (
	contentTypeJSON   = []byte("application/json")
	contentTypeBinary = []byte("application/octet-stream")
)

// httpStatus maps a status code to the HTTP status Triton's
// HttpCodeFromError gives its equivalent (NOT_FOUND 404, UNAVAILABLE 503,
// UNSUPPORTED 501, INTERNAL 500, the rest 400), and TF Serving's mapping
// for codes Triton does not have (deadline 504, permission 403, ...).
func httpStatus(c status.Code) int {
	switch c {
	case status.OK:
		return fasthttp.StatusOK
	case status.NotFound:
		return fasthttp.StatusNotFound
	case status.Unavailable:
		return fasthttp.StatusServiceUnavailable
	case status.Unimplemented:
		return fasthttp.StatusNotImplemented
	case status.Internal, status.DataLoss:
		return fasthttp.StatusInternalServerError
	case status.Unknown, status.InvalidArgument, status.AlreadyExists, status.Cancelled,
		status.FailedPrecondition, status.OutOfRange:
		return fasthttp.StatusBadRequest
	}
	return status.HTTPStatus(c)
}

// HandleHTTP serves a request whose path IsPath (restapi routes them
// here).
func (s *Server) HandleHTTP(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	method := string(ctx.Method())
	get := method == "GET" || method == "HEAD"
	rest, _ := strings.CutPrefix(path, "/v2")
	switch rest {
	case "":
		if !get {
			s.methodNotAllowed(ctx)
			return
		}
		s.serverMetadata(ctx)
		return
	case "/health/live", "/health/ready":
		if !get {
			s.methodNotAllowed(ctx)
			return
		}
		ready := true
		if rest == "/health/ready" {
			ready, _ = s.opts.Models.Ready()
		}
		if ready {
			ctx.SetStatusCode(fasthttp.StatusOK)
		} else {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
		}
		return
	}
	model, ok := strings.CutPrefix(rest, "/models/")
	if !ok {
		s.notFound(ctx)
		return
	}
	parts := strings.Split(model, "/")
	var name, version, kind string
	switch {
	case len(parts) == 1:
		name = parts[0]
	case len(parts) == 2:
		name, kind = parts[0], parts[1]
	case len(parts) == 3 && parts[1] == "versions":
		name, version = parts[0], parts[2]
	case len(parts) == 4 && parts[1] == "versions":
		name, version, kind = parts[0], parts[2], parts[3]
	default:
		s.notFound(ctx)
		return
	}
	if name == "" || (len(parts) >= 3 && version == "") {
		s.notFound(ctx)
		return
	}
	switch kind {
	case "":
		if !get {
			s.methodNotAllowed(ctx)
			return
		}
		s.restModelMetadata(ctx, name, version)
	case "ready":
		if !get {
			s.methodNotAllowed(ctx)
			return
		}
		s.restModelReady(ctx, name, version)
	case "infer":
		if method != "POST" {
			s.methodNotAllowed(ctx)
			return
		}
		s.restInfer(ctx, name, version)
	default:
		s.notFound(ctx)
	}
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx) {
	s.answerError(ctx, fasthttp.StatusNotFound, "Not Found")
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx) {
	s.answerError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
}

// answerError answers {"error": msg} with code.
func (s *Server) answerError(ctx *fasthttp.RequestCtx, code int, msg string) {
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.SetStatusCode(code)
	b := append(make([]byte, 0, len(msg)+16), `{"error":`...)
	if b2, ok := appendJSONString(b, msg); ok {
		b = b2
	} else {
		b, _ = appendJSONString(b, strings.ToValidUTF8(msg, "\uFFFD"))
	}
	ctx.SetBody(append(b, '}'))
}

func (s *Server) answerStatus(ctx *fasthttp.RequestCtx, err error) int {
	code := httpStatus(status.CodeOf(err))
	var tooLarge errBodyTooLarge
	if errors.As(err, &tooLarge) {
		code = fasthttp.StatusRequestEntityTooLarge
	}
	s.answerError(ctx, code, err.Error())
	return code
}

func (s *Server) serverMetadata(ctx *fasthttp.RequestCtx) {
	b := append([]byte(nil), `{"name":`...)
	b, _ = appendJSONString(b, s.opts.Name)
	b = append(b, `,"version":`...)
	b, _ = appendJSONString(b, s.opts.Version)
	b = append(b, `,"extensions":[`...)
	for i, e := range Extensions {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = appendJSONString(b, e)
	}
	b = append(b, "]}"...)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b)
}

func (s *Server) observe(ctx *fasthttp.RequestCtx, ri restapi.RequestInfo, start time.Time, err error, httpCode int) {
	if err != nil && s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("KServe v2 REST request failed", "path", string(ctx.Path()), "error", status.StatusString(err))
	}
	if s.opts.Observe == nil {
		return
	}
	ri.Code = status.CodeOf(err)
	ri.Elapsed = time.Since(start)
	ri.HTTPStatus = httpCode
	ri.RequestBytes = int64(len(ctx.Request.Body()))
	ri.ResponseBytes = int64(len(ctx.Response.Body()))
	ri.Client = ctx.RemoteAddr()
	s.opts.Observe(ri)
}

func (s *Server) restModelReady(ctx *fasthttp.RequestCtx, name, version string) {
	start := time.Now()
	ready, err := s.modelReady(name, version)
	code := fasthttp.StatusOK
	switch {
	case err != nil:
		code = s.answerStatus(ctx, err)
	case !ready:
		code = fasthttp.StatusBadRequest
		s.answerError(ctx, code, "Model version not ready")
		err = status.New(status.Unavailable, "Model version not ready")
	default:
		ctx.SetStatusCode(code)
	}
	s.observe(ctx, restapi.RequestInfo{Model: name, API: "status"}, start, err, code)
}

func (s *Server) restModelMetadata(ctx *fasthttp.RequestCtx, name, version string) {
	start := time.Now()
	ri := restapi.RequestInfo{Model: name, API: "metadata"}
	md, err := s.modelMetadata(name, version)
	if err != nil {
		s.observe(ctx, ri, start, err, s.answerStatus(ctx, err))
		return
	}
	ri.Version = md.version
	b := append([]byte(nil), `{"name":`...)
	b, _ = appendJSONString(b, md.name)
	b = append(b, `,"versions":[`...)
	for i, v := range md.versions {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = appendJSONString(b, v)
	}
	b = append(b, `],"platform":"`+Platform+`","inputs":`...)
	b = appendTensorMeta(b, md.inputs)
	b = append(b, `,"outputs":`...)
	b = appendTensorMeta(b, md.outputs)
	b = append(b, '}')
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(b)
	s.observe(ctx, ri, start, nil, fasthttp.StatusOK)
}

func appendTensorMeta(b []byte, ts []tensorMeta) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b, _ = appendJSONString(b, t.name)
		b = append(b, `,"datatype":"`...)
		b = append(b, t.datatype...)
		b = append(b, `","shape":[`...)
		for j, d := range t.shape {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// restInfer serves POST .../infer through the admission control, worker
// pool, body limit and request budget TF Serving's :predict uses.
func (s *Server) restInfer(ctx *fasthttp.RequestCtx, name, version string) {
	start := time.Now()
	ri := restapi.RequestInfo{Model: name, API: "predict"}
	deadline, err := restapi.ClientDeadline(ctx)
	if err != nil {
		s.observe(ctx, ri, start, err, s.answerStatus(ctx, err))
		return
	}
	tk, code, err := restapi.Acquire(ctx, s.opts.Admission, deadline)
	if err != nil {
		if code == 0 {
			code = httpStatus(status.CodeOf(err))
		}
		s.answerError(ctx, code, err.Error())
		s.observe(ctx, ri, start, err, code)
		return
	}
	defer func() { tk.Release(ctx.Response.StatusCode() == fasthttp.StatusOK) }()
	slot := s.pool.Take()
	defer slot.Release()
	bp := s.getBuf()
	defer s.putBuf(bp)
	out, bin, err := s.restInferBody(ctx, slot, deadline, name, version, &ri, *bp)
	*bp = out
	if err != nil {
		s.observe(ctx, ri, start, err, s.answerStatus(ctx, err))
		return
	}
	if len(bin) > 0 {
		ctx.Response.Header.SetContentTypeBytes(contentTypeBinary)
		ctx.Response.Header.Set(HeaderContentLength, strconv.Itoa(len(out)))
		for _, t := range bin {
			if out, err = appendRaw(out, t); err != nil {
				s.observe(ctx, ri, start, err, s.answerStatus(ctx, err))
				return
			}
		}
		*bp = out
	} else {
		ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBody(out)
	s.observe(ctx, ri, start, nil, fasthttp.StatusOK)
}

func (s *Server) restInferBody(ctx *fasthttp.RequestCtx, slot *workers.Slot, deadline time.Time, name, version string,
	ri *restapi.RequestInfo, out []byte) ([]byte, []*tensor.Tensor, error) {
	sp, err := spec(name, version)
	if err != nil {
		return out, nil, err
	}
	body, release, err := s.body(ctx)
	if err != nil {
		return out, nil, err
	}
	defer release()
	hlen := len(body)
	if h := ctx.Request.Header.Peek(HeaderContentLength); len(h) > 0 {
		v, err := strconv.ParseInt(string(h), 10, 64)
		if err != nil || !isDigits(string(h)) {
			return out, nil, status.New(status.InvalidArgument, "Unable to parse "+HeaderContentLength+
				": want a decimal byte count, got: "+strconv.Quote(string(h[:min(len(h), 32)])))
		}
		if v > int64(len(body)) {
			return out, nil, status.New(status.InvalidArgument, HeaderContentLength+" "+strconv.FormatInt(v, 10)+
				" is larger than the body ("+strconv.Itoa(len(body))+" bytes)")
		}
		hlen = int(v)
	}
	if hlen == 0 {
		return out, nil, status.New(status.InvalidArgument, "The inference request has no JSON header (empty body)")
	}
	tree, err := jsontensor.ParseTree(body[:hlen], s.limits.MaxJSONDepth)
	if err != nil {
		return out, nil, err
	}
	req, err := parseRESTRequest(tree, body[hlen:], name)
	if err != nil {
		return out, nil, err
	}
	runCtx := workers.NewContext(context.Background(), slot)
	if s.opts.Timeout > 0 {
		if d := time.Now().Add(s.opts.Timeout); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, deadline)
		defer cancel()
	}
	budget := limits.NewBudget(s.limits)
	res, err := s.infer(runCtx, sp, &req.request, budget, &ri.Version)
	if err != nil {
		return out, nil, err
	}
	return appendRESTResponse(out, req, res, s.limits.MaxResponseBytes)
}

// body returns the request body with its Content-Encoding (gzip, deflate)
// undone, within MaxBodyBytes.
func (s *Server) body(ctx *fasthttp.RequestCtx) ([]byte, func(), error) {
	raw := ctx.PostBody()
	enc := strings.ToLower(strings.TrimSpace(string(ctx.Request.Header.Peek("Content-Encoding"))))
	var zr io.Reader
	var err error
	switch enc {
	case "", "identity":
		if len(raw) > s.opts.MaxBodyBytes {
			return nil, nil, errBodyTooLarge{s.opts.MaxBodyBytes}
		}
		return raw, func() {}, nil
	case "gzip":
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		zr, err = zlib.NewReader(bytes.NewReader(raw))
	default:
		return nil, nil, status.New(status.InvalidArgument, "Unsupported Content-Encoding "+strconv.Quote(enc)+
			" (want gzip, deflate or identity)")
	}
	if err != nil {
		return nil, nil, status.New(status.InvalidArgument, "Failed to decompress the "+enc+" body: "+err.Error())
	}
	bp := s.getBuf()
	buf := bytes.NewBuffer(*bp)
	n, err := buf.ReadFrom(io.LimitReader(zr, int64(s.opts.MaxBodyBytes)+1))
	*bp = buf.Bytes()
	release := func() { s.putBuf(bp) }
	if err != nil {
		release()
		return nil, nil, status.New(status.InvalidArgument, "Failed to decompress the "+enc+" body: "+err.Error())
	}
	if n > int64(s.opts.MaxBodyBytes) {
		release()
		return nil, nil, errBodyTooLarge{s.opts.MaxBodyBytes}
	}
	return *bp, release, nil
}

// errBodyTooLarge is answered with HTTP 413.
type errBodyTooLarge struct{ limit int }

func (e errBodyTooLarge) Unwrap() error { return status.New(status.ResourceExhausted, e.Error()) }

func (e errBodyTooLarge) Error() string {
	return "Decompressed request body is larger than the limit of " + strconv.Itoa(e.limit) +
		" bytes (--rest_api_max_body_bytes)"
}

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
