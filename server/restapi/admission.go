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
// it takes a worker (see Acquire). When the request is not admitted it
// answers it (503 with Retry-After for overload, 429 for a client over its
// own limit, 504 for a passed deadline) and returns false.
func (s *Server) admit(ctx *fasthttp.RequestCtx, r *route, start, deadline time.Time) (admission.Ticket, bool) {
	t, httpStatus, err := Acquire(ctx, s.opts.Admission, deadline)
	if err == nil {
		return t, true
	}
	s.headers(ctx)
	s.answerError(ctx, r, start, err, httpStatus)
	return admission.Ticket{}, false
}

// Acquire is the admission step of every REST protocol that runs a model
// (TF Serving's, MLflow's, KServe v2): it asks lim (nil admits at once) to
// start the request, waiting no later than deadline (none when zero). On a
// refusal it sets Retry-After, and Connection: close for a shed connection
// (admission.ConnShedder), and returns the refusal's HTTP status (503, or
// 429 for a client over its own limit); the status is 0 for other errors
// (a passed deadline).
func Acquire(ctx *fasthttp.RequestCtx, lim *admission.Limiter, deadline time.Time) (admission.Ticket, int, error) {
	if lim == nil {
		return admission.Ticket{}, 0, nil
	}
	actx, cancel := context.Background(), context.CancelFunc(func() {})
	if !deadline.IsZero() {
		actx, cancel = context.WithDeadline(actx, deadline)
	}
	t, err := lim.AcquireConn(actx, ctx.ConnID(), ctx.Conn())
	cancel()
	if err == nil {
		return t, 0, nil
	}
	code, closeConn := admission.HTTPStatus(err)
	if code != 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(admission.RetryAfterSeconds))
	}
	if closeConn {
		ctx.SetConnectionClose()
	}
	return admission.Ticket{}, code, err
}

// clientDeadline is ClientDeadline for TF Serving's API: a bad header is
// answered with 400 and false.
func (s *Server) clientDeadline(ctx *fasthttp.RequestCtx, r *route, start time.Time) (time.Time, bool) {
	d, err := ClientDeadline(ctx)
	if err != nil {
		s.headers(ctx)
		s.answerError(ctx, r, start, err, 0)
		return time.Time{}, false
	}
	return d, true
}

// ClientDeadline reads RequestTimeoutHeader: the client's deadline,
// counted from when the server read the request (zero without the header),
// or an INVALID_ARGUMENT error for a header that is not 0 to 86400000.
func ClientDeadline(ctx *fasthttp.RequestCtx) (time.Time, error) {
	h := ctx.Request.Header.Peek(RequestTimeoutHeader)
	if len(h) == 0 {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(string(h), 10, 64)
	if err != nil || ms < 0 || ms > int64(24*time.Hour/time.Millisecond) {
		return time.Time{}, status.New(status.InvalidArgument, "Invalid "+RequestTimeoutHeader+
			" header: want milliseconds from 0 to 86400000")
	}
	return ctx.Time().Add(time.Duration(ms) * time.Millisecond), nil
}

// answerError answers err in TF Serving's error JSON, with httpStatus or,
// when 0, the status its code maps to.
func (s *Server) answerError(ctx *fasthttp.RequestCtx, r *route, start time.Time, err error, httpStatus int) {
	bp := s.getBuf()
	*bp = jsontensor.AppendErrorResponse(*bp, err.Error())
	s.finish(ctx, r, start, status.CodeOf(err), httpStatus, *bp)
	s.putBuf(bp)
}
