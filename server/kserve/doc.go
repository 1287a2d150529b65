// Package kserve serves the Open Inference Protocol (KServe's "V2"
// inference protocol, also spoken by Triton and MLServer) on the models
// tfserve serves with TF Serving's APIs: the same manager (versions,
// labels, hot swap), admission control, worker slots, batching queues,
// request budgets and metrics.
//
// # REST, on the REST port (restapi routes /v2 here, Options.V2)
//
//	GET  /v2                                         server metadata
//	GET  /v2/health/live, /v2/health/ready           200, or 400 with no body
//	GET  /v2/models/{name}[/versions/{v}]            model metadata
//	GET  /v2/models/{name}[/versions/{v}]/ready      200, or 400 {"error": "Model version not ready"}
//	POST /v2/models/{name}[/versions/{v}]/infer      inference
//
// Server metadata is {"name": "tfserve", "version": <build version>,
// "extensions": ["binary_tensor_data"]}. Model metadata describes the
// serving_default signature: {"name", "versions" (every AVAILABLE version,
// ascending), "platform": "tensorflow_savedmodel", "inputs", "outputs"},
// each tensor {"name" (the signature alias), "datatype", "shape" (-1 for
// an unknown size; an unknown rank is printed as [-1])}. Datatypes map one
// to one to TensorFlow's: BOOL, UINT8, UINT16, UINT32, UINT64, INT8,
// INT16, INT32, INT64, FP16 (DT_HALF), BF16, FP32, FP64, BYTES
// (DT_STRING); other TF types print as "INVALID" and cannot be exchanged.
//
// A version is a number, or (our extension) a TF Serving version label;
// without one the latest AVAILABLE version serves, and responses name it
// in "model_version".
//
// Infer takes {"id", "parameters", "inputs": [{"name", "shape",
// "datatype", "parameters", "data"}], "outputs": [{"name", "parameters"}]}.
// "data" is a JSON array, flat or nested in any way (only the element
// count must match the shape), of booleans (BOOL), integers that fit the
// type (INT*, UINT*), numbers (FP32, FP64, including NaN and ±Infinity
// tokens) or strings (BYTES, as UTF-8); FP16 and BF16 need binary data.
// The datatype must be the signature's (no coercion, as Triton). The
// response is {"id" (when the request had one), "model_name",
// "model_version", "outputs": [{"name", "datatype", "shape", "data"}]},
// data flat in row-major order, floats printed as TF Serving prints them
// (shortest text that reads back to the same float32, with ".0" on
// integral values). Without "outputs" every output of the signature is
// returned, sorted by name. Request parameters: "binary_data_output"
// (below) and, our extension, "signature_name" (a string; default
// serving_default). Others are ignored; the classification and shared
// memory extensions are refused with 501.
//
// The binary tensor data extension: an input whose parameters hold
// "binary_data_size" (instead of "data") takes that many bytes from the
// body after the JSON, whose length the Inference-Header-Content-Length
// header gives; inputs consume the binary part in order and must use it
// up exactly. Elements are little-endian, row-major; BOOL one byte; BYTES
// each a 4-byte little-endian length then the bytes. An output whose
// parameters say "binary_data": true (or every output, with the request
// parameter "binary_data_output": true, which an output's own
// binary_data overrides) comes back the same way: its JSON has
// "parameters": {"binary_data_size": N} and no "data", the body is the
// JSON then each binary output in order, Content-Type
// application/octet-stream and Inference-Header-Content-Length the JSON's
// length. Otherwise the answer is application/json.
//
// Errors are {"error": "<message>"} with Triton's HTTP statuses (its
// HttpCodeFromError): 404 for an unknown model or version, 503 when
// admission control refuses (with Retry-After), 501 for what is not
// supported, 500 for internal errors, 413 for a body over
// --rest_api_max_body_bytes, 504 for a passed deadline, 400 for the rest;
// 405 {"error": "Method Not Allowed"} and 404 {"error": "Not Found"} for
// wrong methods and paths.
//
// # gRPC, on the gRPC port (Register; package grpcapi's server)
//
// inference.GRPCInferenceService (proto/inference/grpc_predict_v2.proto,
// our own schema with KServe's names and field numbers): ServerLive,
// ServerReady, ModelReady (an unknown model is not ready, not an error, as
// in Triton), ServerMetadata, ModelMetadata and ModelInfer. ModelInfer
// takes inputs in typed contents (int_contents for INT8-INT32,
// uint_contents for UINT8-UINT32, range-checked) or in
// raw_input_contents (one entry per input, the binary layout above), and
// answers in raw_output_contents when the request used raw contents or an
// output is FP16/BF16 (typed contents cannot hold them), else in typed
// contents. "signature_name" is a string parameter. Errors are gRPC
// statuses with the codes the REST mapping starts from. grpcapi's
// interceptor gives ModelInfer admission control, a --grpc_max_threads
// slot, panic recovery, metrics and the access log, as Predict.
//
// # Shared with TF Serving's APIs
//
// Infer runs the signature through manager.Handle.Run, so batching,
// runtime metrics and deadlines apply; it is observed as a "predict" of
// the model (request_count, request_latency, the access log) and checked
// with TF Serving's predict checks (servable.CheckInputs and the output
// filter, with their messages). Every request is held to the budget of
// package servable/limits before anything sized by it is allocated: the
// rank (--request_max_rank), shape element counts (overflow-checked),
// elements and decoded bytes (--request_max_elements,
// --request_max_bytes) charged from the declared shape before decoding,
// JSON nesting (--request_max_json_depth; the JSON is parsed by
// jsontensor's bounded, non-recursive parser and walked in pre-order, so
// nothing recurses on nesting), binary sizes checked against the body
// and the declared shapes, BYTES lengths against what remains, and the
// response (--response_max_bytes). Bodies may be gzip or deflate
// encoded, bounded after decoding. REST infer honours restapi's
// X-Request-Timeout-Ms header and --rest_api_timeout_in_ms.
//
// Not done: request logging (logging_config) of KServe requests, the
// repository, statistics, trace, logging, sequence, classification,
// shared-memory and generate extensions, response compression.
package kserve
