// Package kserve holds tfserve's KServe manifests (servingruntime.yaml: a
// ClusterServingRuntime running tfserve for tensorflow models with protocol
// versions v1, v2, grpc-v1 and grpc-v2; inferenceservice.yaml: example
// InferenceServices over REST v2 and gRPC v2) and the test that decodes
// them strictly into mirrors of KServe's API types (serving.kserve.io
// v1alpha1 ServingRuntimeSpec and v1beta1 PredictorSpec, field names as
// in kserve/pkg/apis/serving), checks the runtime's args against
// tfserve's flag set and its ports against the InferenceServices, and runs
// the real server with those args to query it as KServe does. It has no
// non-test code.
package kserve
