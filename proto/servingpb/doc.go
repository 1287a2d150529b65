// Package servingpb holds Go code generated (by `make proto`) from tfserve's
// own .proto schemas for TF Serving's APIs and configs under
// proto/tensorflow_serving/: PredictionService and ModelService with their
// messages, ModelServerConfig, BatchingParameters, MonitoringConfig and
// logging configs. Package, message and field numbers follow TF Serving, so
// generated clients of TF Serving work unchanged.
package servingpb
