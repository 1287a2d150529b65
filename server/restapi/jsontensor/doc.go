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
// which tests elsewhere match on.
//
// Responses: AppendPredictResponse, AppendClassifyResponse,
// AppendRegressResponse and AppendErrorResponse append to a []byte without
// reflection. Floats are written as TF Serving writes them (see
// AppendFloat32).
//
// Errors carry codes from package server/status.
package jsontensor
