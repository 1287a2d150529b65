// Package kservepb holds Go code generated (by `make proto`) from
// proto/inference/grpc_predict_v2.proto: the Open Inference Protocol's
// (KServe v2) inference.GRPCInferenceService and its messages, written from
// KServe's protocol description with KServe's package, names and field
// numbers, so KServe's, Triton's and MLServer's generated clients work
// unchanged. server/kserve serves it.
package kservepb
