// Package jsontensor converts TF Serving REST JSON to tensors and back,
// byte-compatible with TensorFlow Serving (tensorflow_serving/util/
// json_tensor.cc at tensorflow/serving 9d981c5c, which parses with rapidjson
// 1.1.0 and prints with rapidjson's PrettyWriter).
//
// Requests: ParsePredictRequest ("instances" row format or "inputs" columnar
// format) and ParseClassifyRegressRequest ("examples" plus an optional
// "context", turned into serialized tensorflow.Example protos). Both accept
// what TF Serving accepts (including bare NaN/Infinity/-Infinity tokens and
// text after the top-level object) and fail with TF Serving's messages,
// which tests elsewhere match on. Predict bodies that hold only dense lists
// of numbers (float, double, int32, int64 inputs) are decoded without a DOM:
// stage 1 (scan.go: AVX2 assembly, or Go) finds each list's end and counts
// its numbers on 64-byte blocks, the tensors are allocated once, and one
// walk parses the numbers into them with rapidjson's arithmetic
// (fastpath.go, fastnum.go); any other body or any error goes through the
// DOM decoder (dom.go, predict.go) from the start.
//
// Responses: AppendPredictResponse, AppendClassifyResponse,
// AppendRegressResponse and AppendErrorResponse append to a []byte without
// reflection. Floats are written as TF Serving writes them (see
// AppendFloat32).
//
// Limits (issue 11): the *Limited variants hold a request to a
// limits.Budget (the others to its defaults): JSON nesting depth, checked
// while parsing; tensor rank; elements and decoded bytes charged before each
// tensor or Example is allocated; and the response size, checked before each
// value written. Nothing recurses on input depth (parser, DOM walks, tensor
// decoding, Example building, response and debug-string writing). Parsing
// allocates at most about 13.4 bytes per body byte on the pathological
// bodies of TestParseMemoryBound (all '[' 0.01, [0,0,...] as float32 10,
// as int64 12, empty strings 10.7, b64 objects 4.8, small objects 6.5,
// empty classify examples 13.3); the tests and fuzz targets hold it to 16.
//
// Errors carry codes from package servable/status.
package jsontensor
