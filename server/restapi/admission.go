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
// request whose deadline has passed is not started (504 DEADLINE_EXCEEDED),
// it waits for admission no longer than its deadline, and its model run
// stops at the next kernel once the earlier of this deadline and
// --rest_api_timeout_in_ms passes.
const RequestTimeoutHeader = "X-Request-Timeout-Ms"

// runsModel reports whether a route runs a model (and so goes through
// admission control).
func (k routeKind) runsModel() bool {
	return k == routePredict || k == routeClassify || k == routeRegress
}

// admit asks Options.Admission to start a request that runs a model, before
// it takes a worker; it waits no later than the client's deadline (none
// when zero). When the request is not admitted it answers it (503 with
// Retry-After for overload, 429 for a client over its own limit, 504 for a
// passed deadline) and returns false; a request whose connection is shed
// (admission.ConnShedder) is answered 503 and its connection closed.
func (s *Server) admit(ctx *fasthttp.RequestCtx, r *route, start, deadline time.Time) (admission.Ticket, bool) {
	actx, cancel := context.Background(), context.CancelFunc(func() {})
	if !deadline.IsZero() {
		actx, cancel = context.WithDeadline(actx, deadline)
	}
	t, err := s.opts.Admission.AcquireConn(actx, ctx.ConnID(), ctx.Conn())
	cancel()
	if err == nil {
		return t, true
	}
	s.headers(ctx)
	httpStatus := refusalStatus(ctx, err)
	s.answerError(ctx, r, start, err, httpStatus)
	return admission.Ticket{}, false
}

// refusalStatus sets the headers of an admission refusal (Retry-After, and
// Connection: close for a shed connection) and returns its HTTP status; 0
// for other errors.
func refusalStatus(ctx *fasthttp.RequestCtx, err error) int {
	code, closeConn := admission.HTTPStatus(err)
	if code != 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(admission.RetryAfterSeconds))
	}
	if closeConn {
		ctx.SetConnectionClose()
	}
	return code
}

// clientDeadline reads RequestTimeoutHeader: the client's deadline, counted
// from when the server read the request (zero without the header). A bad
// header is answered with 400 and false.
func (s *Server) clientDeadline(ctx *fasthttp.RequestCtx, r *route, start time.Time) (time.Time, bool) {
	h := ctx.Request.Header.Peek(RequestTimeoutHeader)
	if len(h) == 0 {
		return time.Time{}, true
	}
	ms, err := strconv.ParseInt(string(h), 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		s.headers(ctx)
		s.answerError(ctx, r, start, status.New(status.InvalidArgument, "Invalid "+RequestTimeoutHeader+
			" header: want milliseconds from 0 to 86400000"), 0)
		return time.Time{}, false
	}
	return ctx.Time().Add(time.Duration(ms) * time.Millisecond), true
}

// answerError answers err in TF Serving's error JSON, with httpStatus or,
// when 0, the status its code maps to.
func (s *Server) answerError(ctx *fasthttp.RequestCtx, r *route, start time.Time, err error, httpStatus int) {
	bp := s.getBuf()
	*bp = jsontensor.AppendErrorResponse(*bp, err.Error())
	s.finish(ctx, r, start, status.CodeOf(err), httpStatus, *bp)
	s.putBuf(bp)
}
