// Package restapi serves TensorFlow Serving's REST API on fasthttp:
//
//	POST /v1/models/{name}[/versions/{N}|/labels/{L}]:(predict|classify|regress)
//	GET  /v1/models/{name}[/versions/{N}|/labels/{L}]            model status
//	GET  /v1/models/{name}[/versions/{N}|/labels/{L}]/metadata   signature defs
//
// Routing, status codes, error messages and response bodies follow TF
// Serving's model_servers/http_rest_api_handler.cc, http_rest_api_util.cc and
// http_server.cc (tensorflow/serving 9d981c5c): paths match case-insensitively
// on the raw (undecoded) request path including its query string; anything
// else under /v1/ is 400 "Malformed request: <METHOD> <path>"; a version that
// does not fit an int64 is 400 with an empty body; other paths are a bare 404.
// Every response carries Content-Type: application/json, CORS headers are
// added only when enabled, and gzip request bodies are decompressed.
//
// Additions beyond TF Serving: GET /healthz (200 while the process serves),
// GET /readyz (200 when every configured model has an AVAILABLE version,
// else 503 naming the others), and limits on every input (issue 11), each
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
package restapi
