package requestlog

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/metrics"
)

// RequestLogCount is TF Serving's counter of logged requests
// (core/request_logger.cc), exported as
// :tensorflow:serving:request_log_count{model_name,status_code}.
const RequestLogCount = "/tensorflow/serving/request_log_count"

// Drop reasons, the reason label of tfserve_request_log_dropped_total.
const (
	DropQueueFull  = "queue_full"  // the queue was full: the request went on without waiting
	DropWriteError = "write_error" // the record could not be written (or its file opened)
	DropClosed     = "closed"      // the collector was closing (a reload removed its prefix, or shutdown)
	DropEncode     = "encode"      // the record could not be built or serialized
)

// counters are the request logger's metrics. They count whether or not
// they are registered.
type counters struct {
	logged  *prometheus.CounterVec // request_log_count{model_name,status_code}
	dropped *prometheus.CounterVec // tfserve_request_log_dropped_total{model_name,reason}
	written *prometheus.CounterVec // tfserve_request_log_written_total{model_name}
	files   prometheus.Counter     // tfserve_request_log_files_total
}

func newCounters() *counters {
	return &counters{
		logged: prometheus.NewCounterVec(prometheus.CounterOpts{Name: metrics.PrometheusName(RequestLogCount),
			Help: "The total number of requests logged from the model server sliced down by model_name and status code."},
			[]string{"model_name", "status_code"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfserve_request_log_dropped_total",
			Help: "Sampled request-log records not written, by reason (queue_full: the request did not wait for a full queue)."},
			[]string{"model_name", "reason"}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tfserve_request_log_written_total",
			Help: "Request-log records written to their files."}, []string{"model_name"}),
		files: prometheus.NewCounter(prometheus.CounterOpts{Name: "tfserve_request_log_files_total",
			Help: "Request-log files created."}),
	}
}

func (c *counters) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	var errs []error
	for _, col := range []prometheus.Collector{c.logged, c.dropped, c.written, c.files} {
		errs = append(errs, reg.Register(col))
	}
	return errors.Join(errs...)
}

// enqueued counts one record handed to a collector (code OK) or refused.
func (c *counters) enqueued(model string, code status.Code, dropReason string) {
	c.logged.WithLabelValues(model, code.String()).Inc()
	if dropReason != "" {
		c.dropped.WithLabelValues(model, dropReason).Inc()
	}
}
