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
// else 503 naming the others), and a request body limit (Options.MaxBodyBytes,
// default 64 MiB, applied before and after gzip decompression) answered with
// 413 and {"error": "..."}.
package restapi
