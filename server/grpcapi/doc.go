// Package grpcapi serves TensorFlow Serving's gRPC API on the model manager:
//
//	tensorflow.serving.PredictionService: Predict, Classify, Regress,
//	    MultiInference, GetModelMetadata
//	tensorflow.serving.ModelService: GetModelStatus, HandleReloadConfigRequest
//
// (and, registered on GRPCServer by package modelserver, the Open Inference
// Protocol's inference.GRPCInferenceService from package server/kserve,
// whose ModelInfer this server admits and observes as a Predict),
// plus grpc.health.v1 (Options.EnableHealthService, the
// --enable_grpc_healthcheck_service flag) and server reflection.
//
// Request validation, error codes and messages follow TF Serving's
// servables/tensorflow/{predict_util,classifier,regressor,multi_inference,
// get_model_metadata_impl}.cc and model_servers/{model_service_impl,
// get_model_status_impl}.cc: errors carry the tensorflow::error::Code of the
// failure as the gRPC status code (the numbers are equal) and TF Serving's
// message. Input tensors are accepted in every TensorProto form (tensor_content
// or the typed repeated fields, one value broadcast over the shape); outputs
// use the typed repeated fields as TF Serving does by default, or
// tensor_content with Options.TensorContent
// (--enable_serialization_as_tensor_content).
//
// Every request is checked against Options.Limits (the --request_max_*
// budget) before anything sized by it is allocated: input aliases and dtypes
// first, then each tensor's rank, elements and bytes, and for classify and
// regress the examples merged with their context; a response over
// --response_max_bytes is refused before it is encoded. Messages are sent up
// to INT32_MAX bytes, as in TF Serving, and received up to
// DefaultMaxReceiveBytes of the budget; --grpc_channel_arguments
// (ParseChannelArguments) can change these and the transport defaults
// (streams per connection, metadata, keepalive). Options.TLS
// (--ssl_config_file) serves TLS on every listener. Client deadlines bound
// each model run; a handler's panic is INTERNAL "Internal error (id ...)".
package grpcapi
