package modelserver

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/manager"
)

type readyModels struct{}

func (readyModels) Get(manager.Spec) (manager.Handle, error)                  { return manager.Handle{}, nil }
func (readyModels) ModelStatus(manager.Spec) ([]manager.VersionStatus, error) { return nil, nil }
func (readyModels) Ready() (bool, []string)                                   { return true, nil }

// overloaded returns a limiter holding its one place that refused n of n+1
// arrivals.
func overloaded(t *testing.T, n int) *admission.Limiter {
	t.Helper()
	lim := admission.New(admission.Options{Fixed: 1})
	if _, err := lim.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := lim.Acquire(context.Background()); !admission.IsRefusal(err) {
			t.Fatalf("err %v; want refusal", err)
		}
	}
	return lim
}

func TestReadinessFollowsShedding(t *testing.T) {
	lim := overloaded(t, 3) // 3 of 4 refused
	if ok, _ := readiness(readyModels{}, lim, 0.5).Ready(); ok {
		t.Error("ready while refusing 75% with --readyz_max_shed_ratio=0.5")
	}
	if ok, _ := readiness(readyModels{}, lim, 0.8).Ready(); !ok {
		t.Error("not ready while refusing 75% with --readyz_max_shed_ratio=0.8")
	}
	if _, wrapped := readiness(readyModels{}, lim, 0).(shedReadiness); wrapped {
		t.Error("--readyz_max_shed_ratio=0 must leave readiness to the models")
	}
}

func TestAdmissionMetrics(t *testing.T) {
	lim := overloaded(t, 2)
	reg := prometheus.NewRegistry()
	registerAdmissionMetrics(reg, lim)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"tfserve_admission_limit": 1, "tfserve_admission_in_flight": 1, "tfserve_admission_queued": 0,
		"tfserve_admission_admitted_total":                               1,
		"tfserve_admission_not_admitted_total{reason=queue_full}":        2,
		"tfserve_admission_not_admitted_total{reason=queue_timeout}":     0,
		"tfserve_admission_not_admitted_total{reason=deadline_exceeded}": 0,
		"tfserve_admission_not_admitted_total{reason=cancelled}":         0,
		"tfserve_admission_not_admitted_total{reason=connection_shed}":   0,
		"tfserve_admission_not_admitted_total{reason=client_limit}":      0,
		// Without --admission_shed_connections nothing is read or shed.
		"tfserve_admission_connection_budget": 0, "tfserve_scheduling_latency_seconds": 0,
		"tfserve_admission_dispatching": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d series; want %d: %v", len(got), len(want), got)
	}
}

func TestAdmissionOptionsFromFlags(t *testing.T) {
	o, err := flags.Parse([]string{"--admission_max_in_flight=7", "--admission_max_queue=0",
		"--admission_queue_target_micros=2000", "--admission_queue_interval_micros=50000",
		"--admission_shed_connections", "--admission_max_in_flight_per_client=3", "--admission_dispatch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := admissionOptions(o)
	if got.Fixed != 7 || got.MaxQueue != 0 || got.QueueTarget != 2*time.Millisecond || got.QueueInterval != 50*time.Millisecond ||
		!got.ShedConnections || got.MaxPerClient != 3 || !got.Dispatch {
		t.Fatalf("options %+v", got)
	}
	if lim := newAdmission(flags.Defaults(), &observability{}); lim == nil || lim.Stats().Limit < 2 {
		t.Fatal("admission is on by default, adaptive from at least 2")
	}
	off, _ := flags.Parse([]string{"--enable_admission_control=false"}, nil)
	if newAdmission(off, &observability{}) != nil {
		t.Fatal("--enable_admission_control=false still built a limiter")
	}
}
