package restapi

import (
	"context"
	"testing"
	"time"

	"github.com/tfserve/tfserve/server/admission"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

func TestAdmissionRefusesWith503AndRetryAfter(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 1, MaxQueue: 0})
	h := twoVersions(t, func(o *Options) { o.Admission = lim }, nil)
	const path, body = "/v1/models/m:predict", `{"instances": [4.0]}`

	held, err := lim.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := h.post(path, body)
	h.expectError(r, 503, "--admission_max_queue=0")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q; want 1", got)
	}
	h.expectError(h.post("/v1/models/m:regress", `{"examples": [{"x": 1.0}]}`), 503, "Server overloaded")
	// Status and metadata run no model: not subject to admission.
	if r := h.get("/v1/models/m"); r.code != 200 {
		t.Errorf("status while full: %d %s", r.code, r.body)
	}
	held.Release(false)

	if r := h.post(path, body); r.code != 200 || floats(t, r.body, "predictions")[0] != 4 {
		t.Fatalf("after release: %d %s", r.code, r.body)
	}
	r = h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "0"})
	h.expectError(r, 504, "deadline passed before it was started")
	r = h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "soon"})
	h.expectError(r, 400, RequestTimeoutHeader)
	if r := h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "60000"}); r.code != 200 {
		t.Errorf("with a distant deadline: %d %s", r.code, r.body)
	}

	s := lim.Stats()
	if s.InFlight != 0 || s.Admitted != 3 || s.NotAdmitted[admission.QueueFull] != 2 ||
		s.NotAdmitted[admission.DeadlineExceeded] != 1 {
		t.Fatalf("stats %+v; want 0 in flight, 3 admitted, 2 queue_full, 1 deadline_exceeded", s)
	}
}

// The client's deadline bounds the run even without admission control: a
// passed deadline is not started, and a run stops when its deadline passes.
func TestClientDeadlineBoundsTheRun(t *testing.T) {
	var model *fakemodel.HalfPlusTwo
	h := twoVersions(t, nil, func(m *fakemodel.HalfPlusTwo) {
		m.Sleep, m.SleepAll = time.Minute, true
		model = m
	})
	const path, body = "/v1/models/m/versions/1:predict", `{"instances": [4.0]}`
	r := h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "0"})
	h.expectError(r, 504, "Deadline Exceeded")
	if n := model.Runs.Load(); n != 0 {
		t.Errorf("%d runs started after a passed deadline; want 0", n)
	}
	start := time.Now()
	r = h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "50"})
	h.expectError(r, 504, "Deadline Exceeded")
	if n := model.Runs.Load(); n != 1 {
		t.Errorf("%d runs; want the one stopped by its deadline", n)
	}
	if el := time.Since(start); el >= time.Minute {
		t.Errorf("run took %v: the deadline did not stop it", el)
	}
	h.expectError(h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "-1"}), 400, RequestTimeoutHeader)
}
