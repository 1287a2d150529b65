package restapi

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
)

// RequestTimeoutHeader carries a client's deadline for one request, in
// milliseconds from when the server read it (like gRPC's grpc-timeout). A
// request whose deadline has passed is not started (504), and it waits for
// admission no longer than its deadline. The model run itself stays bounded
// by --rest_api_timeout_in_ms.
const RequestTimeoutHeader = "X-Request-Timeout-Ms"

// runsModel reports whether a route runs a model (and so goes through
// admission control).
func (k routeKind) runsModel() bool {
	return k == routePredict || k == routeClassify || k == routeRegress
}

// admit asks Options.Admission to start a request that runs a model, before
// it takes a worker. When the request is not admitted it answers it (503
// with Retry-After for overload, 504 for a passed deadline, 400 for a bad
// header) and returns false.
func (s *Server) admit(ctx *fasthttp.RequestCtx, r *route, start time.Time) (admission.Ticket, bool) {
	actx, cancel, err := requestDeadline(ctx)
	if err == nil {
		var t admission.Ticket
		t, err = s.opts.Admission.Acquire(actx)
		cancel()
		if err == nil {
			return t, true
		}
	}
	s.headers(ctx)
	httpStatus := 0
	if admission.IsRefusal(err) {
		httpStatus = fasthttp.StatusServiceUnavailable
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(admission.RetryAfterSeconds))
	}
	bp := s.getBuf()
	*bp = jsontensor.AppendErrorResponse(*bp, err.Error())
	s.finish(ctx, r, start, status.CodeOf(err), httpStatus, *bp)
	s.putBuf(bp)
	return admission.Ticket{}, false
}

// requestDeadline is the context of RequestTimeoutHeader's deadline
// (Background without the header).
func requestDeadline(ctx *fasthttp.RequestCtx) (context.Context, context.CancelFunc, error) {
	h := ctx.Request.Header.Peek(RequestTimeoutHeader)
	if len(h) == 0 {
		return context.Background(), func() {}, nil
	}
	ms, err := strconv.ParseInt(string(h), 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return nil, nil, status.New(status.InvalidArgument, "Invalid "+RequestTimeoutHeader+
			" header: want milliseconds from 0 to 86400000")
	}
	dctx, cancel := context.WithDeadline(context.Background(), ctx.Time().Add(time.Duration(ms)*time.Millisecond))
	return dctx, cancel, nil
}

// admitV1 admits a /v1/ request that runs a model (others pass with a zero
// Ticket); false when it was answered instead.
func (s *Server) admitV1(ctx *fasthttp.RequestCtx, path string, start time.Time) (admission.Ticket, bool) {
	r := parseRoute(string(ctx.Method()), path)
	if !r.kind.runsModel() || r.badVersion {
		return admission.Ticket{}, true
	}
	return s.admit(ctx, &r, start)
}
