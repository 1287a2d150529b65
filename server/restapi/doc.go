// Package restapi serves TensorFlow Serving's REST API on fasthttp:
//
//	POST /v1/models/{name}[/versions/{N}|/labels/{L}]:(predict|classify|regress)
//	GET  /v1/models/{name}[/versions/{N}|/labels/{L}]            model status
//	GET  /v1/models/{name}[/versions/{N}|/labels/{L}]/metadata   signature defs
//
// Routing, status codes, error messages and response bodies follow TF
// Serving's model_servers/http_rest_api_handler.cc, http_rest_api_util.cc and
// http_server.cc (tensorflow/serving 9d981c5c): paths match case-insensitively
// on the raw (undecoded) request target including its query string and
// fragment, as net_http's uri_path() returns it (evhttp_request.cc joins
// path, "?query" and "#fragment"; a "?" with an empty query stays), so
// "/v1/models/m:predict?x=1" is a malformed request and "/v1/models/m?x=1"
// asks for the status of model "m?x=1"; only the model name and label are
// percent-decoded (curl_easy_unescape); anything else under /v1/ is 400
// "Malformed request: <METHOD> <path>"; a version that does not fit an int64
// is 400 with an empty body; other paths are a bare 404. A target libevent's
// strict evhttp_uri_parse refuses (characters outside RFC 3986, a bad %
// escape) is answered before routing with libevent's 400 HTML page.
// Every response carries Content-Type: application/json, CORS headers are
// added only when enabled, and gzip request bodies are decompressed.
//
// Additions beyond TF Serving: GET /healthz (200 while the process serves),
// GET /readyz (200 when every configured model has an AVAILABLE version,
// else 503 naming the others), GET /v1/models (every served model with its
// versions' states, sorted by name, each as GET /v1/models/{name} prints
// them; TF Serving answers 400 "Missing model name in request."; see
// models.go), MLflow's scoring protocol (POST /invocations, GET /ping,
// /health and /version, for the one model served or --mlflow_default_model;
// see mlflow.go), /v2 and the paths under it handed to Options.V2 (the
// Open Inference Protocol, package server/kserve, sharing the worker pool
// through Options.Workers), and limits on every input (issue 11), each
// answered with {"error": "..."} naming its flag:
//   - body: Options.MaxBodyBytes (default 64 MiB), before and while gzip is
//     decompressed (one layer only), 413;
//   - request budgets (Options.Limits, package servable/limits): JSON
//     nesting depth, tensor rank, elements and decoded bytes, checked before
//     anything is allocated, 400; the response (--response_max_bytes), 400,
//     the writer stopping once it passes the limit;
//   - connections: read/write/idle timeouts (408 for a request that does not
//     arrive in time), at most MaxConnections (more are answered 503 and
//     closed) and MaxHeaderBytes of headers (431). fasthttp reads a whole
//     request before handle runs, so slow clients never hold a worker slot.
//
// A panic in a handler is answered 500 "Internal error (id ...)", its value
// and stack logged under the id (package servable/panics).
//
// # Request path
//
// One :predict from the socket to a kernel, naming each hop:
//
//  1. fasthttp reads the whole request (bounded by MaxBodyBytes, header and
//     connection limits) and calls Server.handle, which routes the path
//     (route.go) and reads RequestTimeoutHeader.
//  2. A route that runs a model asks Options.Admission (package
//     server/admission: bounded in flight, a CoDel-timed queue) for a
//     ticket, then takes a slot from the worker pool (server/workers).
//  3. predict (predict.go) parses the JSON against the signature (package
//     jsontensor, under a servable/limits budget), after Options.Models
//     (the server/manager.Manager) resolved name, version or label to a
//     manager.Handle that pins that version until Release.
//  4. Handle.Run calls the servable.Model the version was loaded as. From
//     the outside in: metrics' instrumented model (server/metrics), the
//     batching queue's model when batching is on (server/batching, which
//     gives the worker slot back while it waits), and the engine's model:
//     *loader.Model for ours, *gorgonia.Model (graph/gorgonia) for
//     --engine=gorgonia. server/loadfunc builds that chain at load.
//  5. loader.Model.Run checks inputs through graph.SignaturePlan (one input
//     check for both engines) and runs its graph.Plan (graph/exec.go), whose
//     nodes were bound to kernels when the model loaded: loader's
//     sessionRegistry resolves each op through the checkpoint readers
//     (RestoreV2, Restore, RestoreSlice) → graph/annrewrite → graph/scann →
//     graph/fuse (fused GRU/LSTM) → kernels.Lookup, so predict does no
//     lookups. The executor checks the context between kernels.
//  6. The outputs are written as TF Serving's JSON (jsontensor), bounded by
//     --response_max_bytes; the ticket and slot are given back. A request
//     its model's logging_config samples goes to Options.RequestLog as the
//     gRPC API's request and response protos (server/requestlog), and
//     Options.Observe sees every /v1/ request (metrics, --access_log).
//
// gRPC (server/grpcapi) joins at step 2 with the same admission, manager
// and models.
package restapi
