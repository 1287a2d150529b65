package restapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
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
	// The deadline is long enough that a slow machine still starts the run
	// before it passes (50 ms did not, once), and far shorter than the sleep.
	start := time.Now()
	r = h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "1000"})
	h.expectError(r, 504, "Deadline Exceeded")
	if n := model.Runs.Load(); n != 1 {
		t.Errorf("%d runs; want the one stopped by its deadline", n)
	}
	if el := time.Since(start); el >= time.Minute {
		t.Errorf("run took %v: the deadline did not stop it", el)
	}
	h.expectError(h.do("POST", path, []byte(body), map[string]string{RequestTimeoutHeader: "-1"}), 400, RequestTimeoutHeader)
}

// keepAlive is a raw HTTP/1.1 connection that sends one request at a time.
type keepAlive struct {
	c net.Conn
	r *bufio.Reader
}

func dialKeepAlive(t *testing.T, h *harness) *keepAlive {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &keepAlive{c, bufio.NewReader(c)}
}

func (k *keepAlive) post(t *testing.T, path, body string) (*http.Response, string) {
	t.Helper()
	fmt.Fprintf(k.c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	resp, err := http.ReadResponse(k.r, nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// While the scheduler's latency stays over the target, the connections
// already served keep being served and a request on any other is refused
// with 503 and its connection closed. The target is far above what a loaded
// machine makes a request wait before it is read (the incumbent's last
// request re-enters after a window in which it sent nothing, and with the
// default 5 ms target its read delay, in 4 ms jiffies, could refuse it).
func TestShedConnectionsServesIncumbents(t *testing.T) {
	lim := admission.New(admission.Options{ShedConnections: true, Window: time.Millisecond,
		Conns: admission.ConnOptions{Min: 1, Target: 10 * time.Second, Latency: func() time.Duration { return time.Minute }}})
	h := twoVersions(t, func(o *Options) { o.Admission = lim }, nil)
	const path, body = "/v1/models/m:predict", `{"instances": [4.0]}`
	a := dialKeepAlive(t, h)
	for i := range 2 { // the first window watches, the second sheds
		time.Sleep(2 * time.Millisecond)
		if resp, b := a.post(t, path, body); resp.StatusCode != 200 {
			t.Fatalf("incumbent, request %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if s := lim.ConnStats(); !s.Shedding || s.Budget != 1 {
		t.Fatalf("conn stats %+v; want shedding with a budget of 1", s)
	}
	b := dialKeepAlive(t, h)
	resp, msg := b.post(t, path, body)
	h.expectError(reply{code: resp.StatusCode, body: msg, header: resp.Header}, 503, "--admission_shed_connections")
	if !resp.Close || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("shed answer: close %v, Retry-After %q; want the connection closed and 1", resp.Close, resp.Header.Get("Retry-After"))
	}
	if _, err := b.r.ReadByte(); err != io.EOF {
		t.Errorf("shed connection: read %v; want EOF", err)
	}
	if resp, b := a.post(t, path, body); resp.StatusCode != 200 {
		t.Fatalf("incumbent after the shed: %d %s", resp.StatusCode, b)
	}
	if s := lim.Stats(); s.NotAdmitted[admission.ConnectionShed] != 1 || s.Admitted != 3 {
		t.Errorf("stats %+v; want 1 connection_shed and 3 admitted", s)
	}
}

// A client over --admission_max_in_flight_per_client gets 429 with
// Retry-After (MLflow's REQUEST_LIMIT_EXCEEDED on /invocations); the
// server's other clients are not limited by it.
func TestMaxInFlightPerClientAnswers429(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 4, MaxPerClient: 1})
	h := twoVersions(t, func(o *Options) { o.Admission = lim }, nil)
	// The test's own address holds its one slot.
	held, err := lim.AcquireFrom(context.Background(), netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	r := h.post("/v1/models/m:predict", `{"instances": [4.0]}`)
	h.expectError(r, 429, "Too many requests from this client: 1 already run or wait (--admission_max_in_flight_per_client=1)")
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q; want 1", got)
	}
	expectMLflowError(t, "over the client's limit", h.invokeJSON(`{"instances": [4.0]}`), 429, "REQUEST_LIMIT_EXCEEDED",
		"Too many requests from this client: 1 already run or wait (--admission_max_in_flight_per_client=1); retry later")
	// Another client is admitted.
	other, err := lim.AcquireFrom(context.Background(), netip.MustParseAddr("10.1.2.3"))
	if err != nil {
		t.Fatalf("another client: %v", err)
	}
	other.Release(false)
	held.Release(false)
	if r := h.post("/v1/models/m:predict", `{"instances": [4.0]}`); r.code != 200 {
		t.Fatalf("after release: %d %s", r.code, r.body)
	}
	if s := lim.Stats(); s.NotAdmitted[admission.ClientLimit] != 2 {
		t.Errorf("stats %+v; want 2 client_limit", s)
	}
}
