// Package requestlog writes TF Serving's request logs and tfserve's access
// log.
//
// # Request logs (a model's logging_config)
//
// A model in the model config file may carry TF Serving's LoggingConfig:
//
//	config {
//	  name: "m"  base_path: "/models/m"  model_platform: "tensorflow"
//	  logging_config {
//	    log_collector_config { type: "file"  filename_prefix: "/var/log/tfserve/m" }
//	    sampling_config { sampling_rate: 0.01 }
//	  }
//	}
//
// Each successful Predict, Classify, Regress (REST and gRPC) and
// MultiInference (gRPC) of that model is then logged with probability
// sampling_rate as one tensorflow.serving.PredictionLog record
// (apis/prediction_log.proto): the request and the response as the gRPC
// API's protos (a REST request is converted to the PredictRequest,
// ClassificationRequest or RegressionRequest that TF Serving's REST handler
// builds from the JSON, http_rest_api_handler.cc), and log_metadata filled
// as TF Serving's RequestLogger::Log fills it (core/request_logger.cc):
// model_spec (name, the version that served, the signature that ran: the
// response's model_spec), sampling_config (the model's, its sampling_rate
// replaced by the first per_task_sampling_configs entry that matches this
// task; tfserve has no datacenter or task index, so only entries with an
// empty dc and no task_index, or task_index -1, match) and saved_model_tags
// (--saved_model_tags, default "serve"). tfserve also sets timestamp_secs,
// the time the record was made. Requests that fail are not logged.
//
// Followed from tensorflow/serving (9d981c5c): ServerCore::
// MaybeUpdateServerRequestLogger (model_servers/server_core.cc) collects the
// logging_config of every model of a model_config_list on each config load;
// ServerRequestLogger::Update (core/server_request_logger.cc) makes one
// RequestLogger per distinct config and fails the load when one cannot be
// made; RequestLogger::Log samples uniformly (a fresh uniform [0,1) draw <
// sampling_rate, so 1 logs everything and 0 nothing) and counts each
// record in /tensorflow/serving/request_log_count{model_name,status_code};
// LogCollector::Create (core/log_collector.cc) looks the collector type up
// in a registry and fails with "Cannot find LogCollector::Factory for type:
// T". Open-source TF Serving registers no collector type and creates its
// ServerRequestLogger without a logger creator, so a config with any
// logging_config fails there with "No request-logger-creator provided."
// tfserve registers one type, CollectorFile ("file"); any other type is
// refused when the config is loaded (the whole config, at startup or on a
// reload), with an error naming the model. So are a sampling rate outside
// [0, 1], an empty filename_prefix and a prefix whose directory cannot be
// written (the first file is created when the config is loaded).
// custom_logging_config and sampling_config.attributes are accepted and
// have no effect.
//
// # Files
//
// The "file" collector writes TFRecord files (TF's framing: length, masked
// CRC-32C of the length, data, masked CRC-32C of the data; the writer and
// reader of package server/warmup) named
//
//	<filename_prefix>-<YYYYMMDDThhmmssZ>-<8 hex digits>-<NNNNNN>.tfrecord
//
// (without the first "-" when filename_prefix ends in a path separator, that
// is names a directory): the time the collector started (UTC), a random
// number that tells apart processes sharing a directory (TF's collector
// "id"), and a sequence number. The directory must exist; files are
// created with O_EXCL (an existing file is never overwritten), mode 0640.
// A file is closed and the next one started once it holds MaxFileBytes
// (default DefaultMaxFileBytes, 64 MiB; a record larger than that gets a
// file of its own). A file that holds no record when it is closed is
// removed. Files can be read back with ReadFile and
// Files, and serve unchanged as a SavedModel's warmup file
// (assets.extra/tf_serving_warmup_requests; warmup replays at most 1000
// records).
//
// Models whose configs name the same filename_prefix share one collector
// and so one stream of files. Each collector holds one open file at a
// time; a config naming more than MaxOpenFiles (default 64) distinct
// prefixes is refused. On a reload, collectors whose prefix is still named
// keep their files; the others are drained, flushed and closed.
//
// # Never blocking requests
//
// The request's goroutine samples, builds and serializes the record, then
// hands it to its collector's queue without waiting: a queue holds at most
// QueueRecords records, and all queues together at most QueueBytes bytes
// (defaults 4096 and 64 MiB). A record that does not fit is dropped and
// counted in tfserve_request_log_dropped_total{model_name,reason="queue_full"}
// (and in request_log_count with status_code RESOURCE_EXHAUSTED). One
// writer goroutine per collector writes through a buffer that it flushes
// every FlushInterval (default 1 s), when a file rotates, on Flush and on
// Close. Close, which tfserve's graceful shutdown calls after the API
// servers have drained the requests in flight, writes every queued record,
// flushes and syncs the files: nothing that was queued is lost. Records
// that cannot be written (disk full) are counted with reason "write_error"
// and the collector starts a new file for the next record; records logged
// while their collector is being closed by a reload are counted with
// reason "closed". Label values are bounded: model_name takes only the
// names of configured models with a logging_config, reason and status_code
// fixed sets.
//
// # Access log
//
// AccessLog (--access_log=PATH|stderr) writes one JSON object per line for
// every REST /v1/ request and every tensorflow.serving gRPC request:
//
//	{"time":"2025-01-02T03:04:05.123456Z","protocol":"rest","api":"predict","model":"m",
//	 "version":3,"status":"OK","code":200,"latency_ms":1.234,"request_bytes":57,
//	 "response_bytes":31,"client":"10.0.0.7:51234"}
//
// time is when the request finished (UTC, RFC 3339 with microseconds);
// protocol "rest" or "grpc"; api as the servers name it ("predict",
// "classify", "regress", "multi_inference", "status", "metadata",
// "reload_config"; "" for a REST path that did not parse); model as the
// request named it; version the version that served it, or null; status the
// canonical code name; code the HTTP status (REST) or the gRPC code
// number; request_bytes and response_bytes the REST bodies as sent (gzip
// included) or the gRPC messages' serialized sizes; client the peer
// address. Request bodies, headers, query strings and credentials are never
// written. Lines go through the same kind of bounded queue (drops counted in
// tfserve_access_log_dropped_total) to a buffered writer flushed every
// second and on Close. A file is opened for appending, so external rotation
// with copytruncate works.
package requestlog
