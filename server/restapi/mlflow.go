package restapi

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// MLflow's scoring protocol (mlflow/pyfunc/scoring_server/__init__.py) on
// the REST port, for one model:
//
//	POST /invocations      application/json (dataframe_split, dataframe_records,
//	                       instances, inputs) or text/csv (with a header row)
//	GET  /ping, /health    200 "\n" when the model has an AVAILABLE version, else 404
//	GET  /version          tfserve's version (MLflow answers its own)
//
// The model is the one model served, or the one --mlflow_default_model
// names. Requests run the model's serving_default signature, seen as an
// MLflow tensor-based signature with named inputs (TF signature inputs are
// always named), the way mlflow.tensorflow's _TF2Wrapper runs a SavedModel
// behind pyfunc's schema enforcement (mlflow/models/utils.py
// _enforce_schema, _enforce_tensor_schema): see mlflow_input.go. Answers are
// {"predictions": {output alias: values}} (mlflow_json.go); errors are
// MLflow's {"error_code": ..., "message": ...} with MLflow's HTTP status for
// the code (mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS). MLflow 2.x and
// 3.x raise BAD_REQUEST (400) for malformed input and
// INVALID_PARAMETER_VALUE (400) for input that does not fit the schema;
// MALFORMED_REQUEST was MLflow 1.x's code and is not used.
//
// Where this differs from MLflow's server: messages do not repeat the
// request's data (MLflow prints the body or the DataFrame); Python's
// set and dict orders are replaced by sorted orders; JSON is parsed by
// rapidjson's rules (numbers past the double range, 1e400, are errors;
// Python reads them as inf); unwrapped LLM payloads ("messages", "prompt",
// "input") are not taken and "params" is ignored (the TensorFlow flavor has
// none); dataframe rows of unequal length are refused (pandas pads them);
// stack_trace is written only for model errors, holding the model's error;
// a missing Content-Type is a 415 (MLflow fails with 500); and the Keras
// flavor's unwrapping of single-output models is not reproduced (every
// answer is the TensorFlow flavor's dict of outputs).

// MLflowOptions configure the MLflow scoring protocol.
type MLflowOptions struct {
	// DefaultModel is --mlflow_default_model: the model /invocations,
	// /ping and /health use. Empty means the one model served (several
	// served models then make /invocations fail with 400 naming the flag).
	DefaultModel string
	// Version is what GET /version answers: tfserve's version string (the
	// build's -X main.version, "dev" when empty).
	Version string
}

// mlflowErr is an error in MLflow's shape.
type mlflowErr struct {
	code  string // MLflow error_code, e.g. "BAD_REQUEST"
	msg   string
	stack string // "stack_trace", written when not empty
	st    status.Code
	// http overrides the status the code maps to (0: the code's).
	http int
	// plain answers msg itself as the body (MLflow's 415 text/plain
	// answers and its 504 timeout text), with contentType.
	plain       bool
	contentType string
}

func (e *mlflowErr) Error() string { return e.code + ": " + e.msg }

// MLflow error codes (mlflow/protos/databricks.proto ErrorCode).
const (
	mlBadRequest       = "BAD_REQUEST"
	mlInvalidParameter = "INVALID_PARAMETER_VALUE"
	mlNotFound         = "RESOURCE_DOES_NOT_EXIST"
	mlInternal         = "INTERNAL_ERROR"
	mlUnavailable      = "TEMPORARILY_UNAVAILABLE"
	mlLimitExceeded    = "REQUEST_LIMIT_EXCEEDED" // mlflow.exceptions: HTTP 429
)

// mlflowHTTPStatus is mlflow/exceptions.py ERROR_CODE_TO_HTTP_STATUS (500
// for codes it does not list).
var mlflowHTTPStatus = map[string]int{
	"INTERNAL_ERROR": 500, "INVALID_STATE": 500, "DATA_LOSS": 500, "NOT_IMPLEMENTED": 501,
	"TEMPORARILY_UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504, "REQUEST_LIMIT_EXCEEDED": 429,
	"CANCELLED": 499, "RESOURCE_EXHAUSTED": 429, "ABORTED": 409, "RESOURCE_CONFLICT": 409,
	"ALREADY_EXISTS": 409, "NOT_FOUND": 404, "ENDPOINT_NOT_FOUND": 404, "RESOURCE_DOES_NOT_EXIST": 404,
	"PERMISSION_DENIED": 403, "CUSTOMER_UNAUTHORIZED": 401, "UNAUTHENTICATED": 401, "BAD_REQUEST": 400,
	"RESOURCE_ALREADY_EXISTS": 400, "INVALID_PARAMETER_VALUE": 400,
}

func (e *mlflowErr) httpStatus() int {
	if e.http != 0 {
		return e.http
	}
	if h, ok := mlflowHTTPStatus[e.code]; ok {
		return h
	}
	return 500
}

// badInput is MlflowInvalidInputException: BAD_REQUEST, "Invalid input. "
// before the message.
func badInput(msg string) *mlflowErr {
	return &mlflowErr{code: mlBadRequest, msg: "Invalid input. " + msg, st: status.InvalidArgument}
}

func badRequest(msg string) *mlflowErr {
	return &mlflowErr{code: mlBadRequest, msg: msg, st: status.InvalidArgument}
}

// schemaErr is pyfunc's _validate_prediction_input wrapping an
// _enforce_schema failure, re-wrapped by invocations(): MLflow prints the
// data and the schema; we print the schema only (the data may be large).
func schemaErr(sig *servable.Signature, msg string) *mlflowErr {
	return &mlflowErr{code: mlInvalidParameter, st: status.InvalidArgument,
		msg: "Failed to predict data. \nError: Failed to enforce schema of data with schema '" + schemaRepr(sig) +
			"'. Error: " + msg}
}

// schemaRepr is MLflow's repr of the tensor schema a signature stands for:
// ['x': Tensor('float32', (-1, 1)), ...] in alias order.
func schemaRepr(sig *servable.Signature) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range sortedAliases(sig.Inputs) {
		if i > 0 {
			b.WriteString(", ")
		}
		ti := sig.Inputs[a]
		b.WriteString(pyRepr(a))
		b.WriteString(": Tensor(")
		b.WriteString(pyRepr(numpyName(ti.DType)))
		b.WriteString(", ")
		b.WriteString(specShape(ti))
		b.WriteByte(')')
	}
	b.WriteByte(']')
	return b.String()
}

// specShape prints a TensorInfo's shape as MLflow's TensorSpec shape tuple
// (unknown sizes -1; an unknown rank as None).
func specShape(ti servable.TensorInfo) string {
	if ti.UnknownRank {
		return "None"
	}
	dims := make([]int64, len(ti.Dims))
	for i, d := range ti.Dims {
		dims[i] = d.Size
	}
	return pyShape(dims)
}

func sortedAliases(m map[string]servable.TensorInfo) []string {
	out := make([]string, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// mlflowCode maps a status code to the MLflow error code with the same
// HTTP meaning.
func mlflowCode(c status.Code) string {
	switch c {
	case status.InvalidArgument, status.FailedPrecondition, status.OutOfRange:
		return mlBadRequest
	case status.NotFound:
		return mlNotFound
	case status.DeadlineExceeded:
		return "DEADLINE_EXCEEDED"
	case status.Cancelled:
		return "CANCELLED"
	case status.AlreadyExists:
		return "ALREADY_EXISTS"
	case status.PermissionDenied:
		return "PERMISSION_DENIED"
	case status.Unauthenticated:
		return "UNAUTHENTICATED"
	case status.ResourceExhausted:
		return "RESOURCE_EXHAUSTED"
	case status.Aborted:
		return "ABORTED"
	case status.Unimplemented:
		return "NOT_IMPLEMENTED"
	case status.Unavailable:
		return mlUnavailable
	case status.DataLoss:
		return "DATA_LOSS"
	}
	return mlInternal
}

// statusErr turns a status error into MLflow's shape, keeping its message.
func statusErr(err error) *mlflowErr {
	var me *mlflowErr
	if errors.As(err, &me) {
		return me
	}
	c := status.CodeOf(err)
	if c == status.DeadlineExceeded {
		return timeoutErr()
	}
	return &mlflowErr{code: mlflowCode(c), msg: err.Error(), st: c}
}

// timeoutErr is the answer of MLflow's timeout middleware: 504 with the
// text "Request processing time exceeded limit" (as application/json).
func timeoutErr() *mlflowErr {
	return &mlflowErr{code: "DEADLINE_EXCEEDED", msg: "Request processing time exceeded limit", st: status.DeadlineExceeded,
		plain: true, contentType: "application/json"}
}

// runErr is invocations()'s answer to an exception the model raised while
// predicting: BAD_REQUEST with a fixed message, the error itself in
// stack_trace. Deadlines, cancellation and overload keep their own
// statuses.
func runErr(err error) *mlflowErr {
	switch c := status.CodeOf(err); c {
	case status.DeadlineExceeded, status.Cancelled, status.Unavailable, status.ResourceExhausted:
		return statusErr(err)
	}
	return &mlflowErr{code: mlBadRequest, st: status.CodeOf(err),
		msg: "Encountered an unexpected error while evaluating the model. Verify that the serialized input " +
			"Dataframe is compatible with the model for inference.",
		stack: status.StatusString(err)}
}

// appendMLflowError appends {"error_code": ..., "message": ...} as
// MlflowException.serialize_as_json writes it.
func appendMLflowError(b []byte, e *mlflowErr) []byte {
	b = append(b, `{"error_code": `...)
	b = pyAppendString(b, e.code)
	b = append(b, `, "message": `...)
	b = pyAppendString(b, e.msg)
	if e.stack != "" {
		b = append(b, `, "stack_trace": `...)
		b = pyAppendString(b, e.stack)
	}
	return append(b, '}')
}

// serveMLflow answers MLflow's scoring-server paths and reports whether
// path was one of them.
func (s *Server) serveMLflow(ctx *fasthttp.RequestCtx, path string) bool {
	var get bool
	switch path {
	case "/invocations":
	case "/ping", "/health", "/version":
		get = true
	default:
		return false
	}
	method := string(ctx.Method())
	switch {
	case method == "OPTIONS":
		s.headers(ctx)
		if originIsHTTP(ctx.Request.Header.Peek("Origin")) {
			ctx.SetStatusCode(fasthttp.StatusOK)
		} else {
			ctx.SetStatusCode(status.HTTPStatus(status.FailedPrecondition))
		}
	case get && (method == "GET" || method == "HEAD"):
		if path == "/version" {
			s.mlflowVersion(ctx)
		} else {
			s.mlflowPing(ctx)
		}
	case !get && method == "POST":
		s.mlflowInvocations(ctx)
	default:
		// Starlette's answer to a method the route does not take.
		s.headers(ctx)
		ctx.Response.Header.SetContentType("text/plain; charset=utf-8")
		if get {
			ctx.Response.Header.Set("Allow", "GET, HEAD")
		} else {
			ctx.Response.Header.Set("Allow", "POST")
		}
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		ctx.SetBodyString("Method Not Allowed")
	}
	return true
}

// mlflowVersion answers GET /version with tfserve's version string.
func (s *Server) mlflowVersion(ctx *fasthttp.RequestCtx) {
	s.headers(ctx)
	v := s.opts.MLflow.Version
	if v == "" {
		v = "dev"
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyString(v)
}

// mlflowPing answers /ping and /health as MLflow does: "\n" with 200 when
// the model can serve (an AVAILABLE version), else 404.
func (s *Server) mlflowPing(ctx *fasthttp.RequestCtx) {
	s.headers(ctx)
	code := fasthttp.StatusNotFound
	if name, merr := s.mlflowModel(); merr == nil {
		if h, err := s.opts.Models.Get(manager.Spec{Name: name}); err == nil {
			h.Release()
			code = fasthttp.StatusOK
		}
	}
	ctx.SetStatusCode(code)
	ctx.SetBodyString("\n")
}

// maxNamesShown bounds the model names an error lists.
const maxNamesShown = 10

// mlflowModel resolves the model MLflow's paths use.
func (s *Server) mlflowModel() (string, *mlflowErr) {
	var names []string
	l := s.lister()
	if l != nil {
		names = l.Models()
	}
	if n := s.opts.MLflow.DefaultModel; n != "" {
		if l != nil && !slices.Contains(names, n) {
			return "", &mlflowErr{code: mlNotFound, st: status.NotFound,
				msg: "Model " + strconv.Quote(n) + " named by --mlflow_default_model is not served (served: " + listNames(names) + ")."}
		}
		return n, nil
	}
	if l == nil {
		return "", &mlflowErr{code: mlInvalidParameter, st: status.InvalidArgument,
			msg: "The served models cannot be listed; name the model MLflow's /invocations, /ping and /health use with --mlflow_default_model=NAME."}
	}
	switch len(names) {
	case 0:
		return "", &mlflowErr{code: mlNotFound, st: status.NotFound,
			msg: "No model is served. /invocations scores the one model served, or the one named by --mlflow_default_model=NAME."}
	case 1:
		return names[0], nil
	}
	return "", &mlflowErr{code: mlInvalidParameter, st: status.InvalidArgument,
		msg: strconv.Itoa(len(names)) + " models are served (" + listNames(names) +
			"); name the one MLflow's /invocations, /ping and /health use with --mlflow_default_model=NAME."}
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	shown := names
	if len(shown) > maxNamesShown {
		shown = shown[:maxNamesShown]
	}
	q := make([]string, len(shown))
	for i, n := range shown {
		q[i] = strconv.Quote(n)
	}
	out := strings.Join(q, ", ")
	if len(names) > len(shown) {
		out += ", … (" + strconv.Itoa(len(names)-len(shown)) + " more)"
	}
	return out
}

// mlflowAnswer writes an MLflow error and observes the request.
func (s *Server) mlflowAnswer(ctx *fasthttp.RequestCtx, model string, start time.Time, e *mlflowErr) {
	s.headers(ctx)
	ctx.SetStatusCode(e.httpStatus())
	if e.plain {
		if e.contentType != "" {
			ctx.Response.Header.SetContentType(e.contentType)
		}
		ctx.SetBodyString(e.msg)
	} else {
		bp := s.getBuf()
		*bp = appendMLflowError(*bp, e)
		ctx.Response.SetBody(*bp)
		s.putBuf(bp)
	}
	s.observeMLflow(model, start, e.st)
}

func (s *Server) observeMLflow(model string, start time.Time, code status.Code) {
	if s.opts.Observe != nil {
		// An invocation runs the predict signature: metrics count it as
		// a Predict of the model.
		s.opts.Observe(RequestInfo{Model: model, API: "predict", Code: code, Elapsed: time.Since(start)})
	}
}

// SCORING_PROTOCOL_CHANGE_INFO of mlflow/pyfunc/scoring_server.
const scoringProtocolChangeInfo = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are" +
	" seeing this error, you are likely using an outdated scoring request format. To resolve the" +
	" error, either update your request format or adjust your MLflow Model's requirements file to" +
	" specify an older version of MLflow (for example, change the 'mlflow' requirement specifier" +
	" to 'mlflow==1.30.0'). If you are making a request using the MLflow client" +
	" (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in" +
	" order to use the new request format. For more information about the updated MLflow" +
	" Model scoring protocol in MLflow 2.0, see" +
	" https://mlflow.org/docs/latest/models.html#deploy-mlflow-models."

// checkContentType is the start of scoring_server.invocations(): the
// Content-Type's parameters (only charset=utf-8 is allowed) and its type,
// text/csv or application/json, else 415 text/plain.
func checkContentType(ct string) (csv bool, e *mlflowErr) {
	parts := strings.Split(ct, ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	mime := parts[0]
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		params[k] = v
	}
	unsupported := func(msg string) *mlflowErr {
		return &mlflowErr{code: mlBadRequest, msg: msg, st: status.InvalidArgument, http: fasthttp.StatusUnsupportedMediaType,
			plain: true, contentType: "text/plain; charset=utf-8"}
	}
	if cs, ok := params["charset"]; ok && strings.ToLower(cs) != "utf-8" {
		return false, unsupported("The scoring server only supports UTF-8")
	}
	var extra []string
	for k := range params {
		if k != "charset" {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return false, unsupported("Unrecognized content type parameters: " + strings.Join(extra, ", ") + ". " +
			scoringProtocolChangeInfo)
	}
	switch mime {
	case "text/csv":
		return true, nil
	case "application/json":
		return false, nil
	}
	return false, unsupported("This predictor only supports the following content types: Types: ['text/csv', " +
		"'application/json']. Got '" + ct + "'.")
}

// mlflowInvocations serves POST /invocations through the same admission
// control, worker pool, body and request limits as :predict.
func (s *Server) mlflowInvocations(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	name, merr := s.mlflowModel()
	if merr != nil {
		s.mlflowAnswer(ctx, "", start, merr)
		return
	}
	csv, merr := checkContentType(string(ctx.Request.Header.ContentType()))
	if merr != nil {
		s.mlflowAnswer(ctx, name, start, merr)
		return
	}
	var rn runner
	var err error
	if rn.deadline, err = ClientDeadline(ctx); err != nil {
		s.mlflowAnswer(ctx, name, start, badRequest(err.Error()))
		return
	}
	tk, code, err := Acquire(ctx, s.opts.Admission, rn.deadline)
	if err != nil {
		e := statusErr(err)
		if code != 0 {
			mc := mlUnavailable
			if code == fasthttp.StatusTooManyRequests {
				mc = mlLimitExceeded
			}
			e = &mlflowErr{code: mc, msg: err.Error(), st: status.CodeOf(err), http: code}
		}
		s.mlflowAnswer(ctx, name, start, e)
		return
	}
	defer func() { tk.Release(ctx.Response.StatusCode() == fasthttp.StatusOK) }()
	rn.slot = s.pool.Take()
	defer rn.slot.Release()
	bp := s.getBuf()
	defer s.putBuf(bp)
	out, merr := s.invoke(ctx, rn, name, csv, *bp)
	if merr != nil {
		s.mlflowAnswer(ctx, name, start, merr)
		return
	}
	*bp = out
	s.headers(ctx)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBody(out)
	s.observeMLflow(name, start, status.OK)
}

// invoke parses the body against the model's serving_default signature,
// runs it and writes the predictions.
func (s *Server) invoke(ctx *fasthttp.RequestCtx, rn runner, name string, csv bool, out []byte) ([]byte, *mlflowErr) {
	body, release, err := s.body(ctx)
	if err != nil {
		var tooLarge errBodyTooLarge
		if errors.As(err, &tooLarge) {
			return out, &mlflowErr{code: "RESOURCE_EXHAUSTED", msg: err.Error(), st: status.ResourceExhausted,
				http: fasthttp.StatusRequestEntityTooLarge}
		}
		return out, badRequest(err.Error())
	}
	defer release()
	if !utf8.Valid(body) {
		return out, badInput("The request body is not valid UTF-8; the scoring server only supports UTF-8.")
	}
	h, err := s.opts.Models.Get(manager.Spec{Name: name})
	if err != nil {
		return out, statusErr(err)
	}
	defer h.Release()
	sig, err := servable.PredictSignature(h.Signatures(), servable.DefaultSignature, s.opts.EnableSignatureMethodNameCheck)
	if err != nil {
		return out, statusErr(err)
	}
	if len(sig.Inputs) == 0 {
		return out, badRequest("Signature " + strconv.Quote(servable.DefaultSignature) + " has no inputs.")
	}
	budget := limits.NewBudget(s.limits)
	var inputs map[string]*tensor.Tensor
	var merr *mlflowErr
	if csv {
		inputs, merr = csvInputs(body, sig, budget)
	} else {
		inputs, merr = jsonInputs(body, sig, budget)
	}
	if merr != nil {
		return out, merr
	}
	if err := servable.CheckInputs(sig, inputs); err != nil {
		return out, runErr(err)
	}
	run := s.runContext(rn)
	defer run.end()
	outputs, err := h.Run(run.ctx, servable.DefaultSignature, inputs, nil)
	if err != nil {
		return out, runErr(err)
	}
	aliases := make([]string, 0, len(sig.Outputs))
	for a := range sig.Outputs {
		if outputs[a] == nil {
			return out, runErr(status.New(status.Unknown, "Predict internal error"))
		}
		aliases = append(aliases, a)
	}
	slices.Sort(aliases)
	out, err = mlflowPredictions(out, s.limits.MaxResponseBytes, aliases, outputs)
	if err != nil {
		return out[:0], statusErr(err)
	}
	return out, nil
}
