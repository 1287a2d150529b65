package modelserver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/restapi"
)

// newAdmission builds the one limiter that REST and gRPC model requests
// share (they share the CPUs), or nil with --enable_admission_control=false,
// and exports its state on the metrics registry when monitoring is on.
func newAdmission(o flags.Options, obs *observability) *admission.Limiter {
	if !o.EnableAdmissionControl {
		return nil
	}
	lim := admission.New(admissionOptions(o))
	if obs.metrics != nil {
		registerAdmissionMetrics(obs.metrics.Registry(), lim)
	}
	return lim
}

func admissionOptions(o flags.Options) admission.Options {
	return admission.Options{
		Fixed:         max(o.AdmissionMaxInFlight, 0),
		Min:           max(o.AdmissionMinInFlight, 0),
		MaxQueue:      max(o.AdmissionMaxQueue, 0),
		QueueTarget:   micros(o.AdmissionQueueTargetMicros),
		QueueInterval: micros(o.AdmissionQueueIntervalMicros),
		// REST's connections; gRPC multiplexes its requests on a few.
		ShedConnections: o.AdmissionShedConnections,
		MaxPerClient:    max(o.AdmissionMaxPerClient, 0),
		Dispatch:        o.AdmissionDispatch,
	}
}

// registerAdmissionMetrics exports the limiter: gauges for the limit, the
// requests in flight and those waiting, counters for admissions and for
// refusals by reason (a fixed label set).
func registerAdmissionMetrics(reg *prometheus.Registry, lim *admission.Limiter) {
	gauge := func(name, help string, f func(admission.Stats) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(lim.Stats())) })
	}
	reg.MustRegister(
		gauge("tfserve_admission_limit", "Model requests admitted at once (adaptive unless --admission_max_in_flight).",
			func(s admission.Stats) int { return s.Limit }),
		gauge("tfserve_admission_in_flight", "Model requests admitted and not finished.",
			func(s admission.Stats) int { return s.InFlight }),
		gauge("tfserve_admission_queued", "Model requests waiting for admission.",
			func(s admission.Stats) int { return s.Queued }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tfserve_admission_dispatching",
			Help: "1 while every model request waits for admission and the newest is served first (--admission_dispatch)."},
			func() float64 {
				if lim.Stats().Dispatching {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tfserve_admission_connection_budget",
			Help: "REST connections served while shedding connections (0 when not shedding; --admission_shed_connections)."},
			func() float64 {
				if c := lim.ConnStats(); c.Shedding {
					return float64(c.Budget)
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tfserve_scheduling_latency_seconds",
			Help: "90th percentile of the Go scheduler's latency over the last window, as read by connection shedding."},
			func() float64 { return lim.ConnStats().Latency.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tfserve_admission_admitted_total",
			Help: "Model requests admitted."}, func() float64 { return float64(lim.Stats().Admitted) }),
	)
	for _, r := range admission.Reasons() {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tfserve_admission_not_admitted_total",
			Help:        "Model requests not admitted, by reason (queue_full and queue_timeout are overload refusals).",
			ConstLabels: prometheus.Labels{"reason": r.String()}},
			func() float64 { return float64(lim.Stats().NotAdmitted[r]) }))
	}
}

// shedReadiness reports not ready while the limiter refuses more than ratio
// of model requests (--readyz_max_shed_ratio), so that a Kubernetes Service
// sends the traffic to other replicas; models stay as they are.
type shedReadiness struct {
	restapi.Models
	lim   *admission.Limiter
	ratio float64
}

func (r shedReadiness) Ready() (bool, []string) {
	ok, notReady := r.Models.Ready()
	if ok && r.lim.ShedRatio() > r.ratio {
		return false, []string{}
	}
	return ok, notReady
}

// readiness wraps models for /readyz when --readyz_max_shed_ratio is set.
func readiness(models restapi.Models, lim *admission.Limiter, ratio float64) restapi.Models {
	if lim == nil || ratio <= 0 {
		return models
	}
	return shedReadiness{Models: models, lim: lim, ratio: ratio}
}

func micros(us int64) time.Duration { return time.Duration(max(us, 0)) * time.Microsecond }
