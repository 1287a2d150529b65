// Package warmup replays a SavedModel version's warmup requests before the
// version is served, as TF Serving's saved_model_warmup does: the file
// <version>/assets.extra/tf_serving_warmup_requests is a TFRecord file whose
// records are serialized tensorflow.serving.PredictionLog protos (predict,
// classify, regress or multi-inference requests). Each record is run against
// the freshly loaded model --num_request_iterations_for_warmup times; a
// malformed file, more than MaxRecords records, or a request that fails makes
// the load fail.
//
// The package also writes such files (RecordWriter, Writer, WriteFile), for
// tests and for users who build warmup data in Go (see cmd/mkwarmup).
package warmup
