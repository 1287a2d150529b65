// Package metrics keeps tfserve's Prometheus metrics under TF Serving's
// names and serves them the way TF Serving's --monitoring_config_file does:
// text exposition with "# TYPE" lines and no "# HELP", on the REST port at
// prometheus_config.path (default /monitoring/prometheus/metrics).
//
// Metric names are TF's monitoring names with every character outside
// [A-Za-z0-9_] replaced by ':' (PrometheusName), so
// /tensorflow/serving/request_count is exported as
// :tensorflow:serving:request_count. Recorded:
//
//	:tensorflow:serving:request_count{model_name,status}              counter
//	:tensorflow:serving:request_latency{model_name,API,entrypoint}    histogram, µs (successful requests)
//	:tensorflow:serving:runtime_latency{model_name,API,runtime}       histogram, µs (model runs)
//	:tensorflow:cc:saved_model:load_attempt_count{model_path,status}  counter ("success"/"fail")
//	:tensorflow:cc:saved_model:load_latency{model_path}               counter, µs of successful loads
//	:tensorflow:serving:model_warmup_latency{model_path,status}       histogram, µs
//	:tensorflow:serving:model_warmup_records_read{model_path}          counter
//
// Histograms use TF's Buckets::Exponential(10, 1.8, 33). Each Metrics value
// owns its own prometheus.Registry: there is no global state.
package metrics
