package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openServer answers every request on raw connections with reply(n), n
// counting requests from 1 across connections, and records what the open
// loop needs checked server-side: connections accepted, the most requests
// on one connection, the most requests being served at once, and the
// User-Agents seen.
type openServer struct {
	*rawServer
	accepted    atomic.Int64
	perConnMax  atomic.Int64
	inflight    atomic.Int64
	inflightMax atomic.Int64
	mu          sync.Mutex
	agents      map[string]int
}

// openReply is what an openServer does with request n: wait, then write
// answer (nothing when empty), then close the connection if hangUp. With
// stall it answers nothing and reads until the client hangs up.
type openReply struct {
	wait   time.Duration
	answer string
	hangUp bool
	stall  bool
}

const ok200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

func newOpenServer(t *testing.T, reply func(n int64) openReply) *openServer {
	t.Helper()
	os := &openServer{agents: map[string]int{}}
	var n atomic.Int64
	os.rawServer = newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		os.accepted.Add(1)
		for k := int64(1); ; k++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			os.mu.Lock()
			os.agents[req.UserAgent()]++
			os.mu.Unlock()
			raiseTo(&os.perConnMax, k)
			raiseTo(&os.inflightMax, os.inflight.Add(1))
			r := reply(n.Add(1))
			if r.stall {
				_, _ = io.Copy(io.Discard, br)
				return
			}
			time.Sleep(r.wait)
			os.inflight.Add(-1)
			if r.answer != "" {
				fmt.Fprint(c, r.answer)
			}
			if r.hangUp {
				return
			}
		}
	})
	return os
}

func raiseTo(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

// checkEventLoops fails t unless every request came from the event loops'
// encoded requests (vegeta's net/http client sends another User-Agent).
func (os *openServer) checkEventLoops(t *testing.T) {
	t.Helper()
	os.mu.Lock()
	defer os.mu.Unlock()
	for ua := range os.agents {
		if ua != "tfserve-loadtest" {
			t.Errorf("User-Agents %v: not all requests came from the event loops", os.agents)
		}
	}
}

func runOpen(t *testing.T, url string, opt HTTPOptions, cfg Config, bodies ...string) *Result {
	t.Helper()
	if len(bodies) == 0 {
		bodies = []string{`{}`}
	}
	res, err := RunOpen(context.Background(), targetWith(t, url, opt, bodies...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// At a rate the server easily keeps up with, every scheduled hit is sent
// and answered: exactly 200 for 1 s at 200/s.
//
// The last hit falls due when the duration ends, and hits unsent then are
// dropped by design: on a loaded machine the connection that carried the
// hit before may still be busy at that moment. So every run must be
// consistent (each hit sent is answered 200 and seen by the server), and
// the exact count is required of one of up to three runs: a client that
// loses hits does so in every run.
func TestOpenLoopExactCount(t *testing.T) {
	const runs = 3
	for run := 1; ; run++ {
		srv := newOpenServer(t, func(int64) openReply { return openReply{answer: ok200} })
		res := runOpen(t, srv.url(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 200, Duration: time.Second})
		if res.Scheduled != 200 || res.Successes != res.Requests {
			t.Errorf("scheduled %d requests %d successes %d; want 200 scheduled and every request answered", res.Scheduled, res.Requests, res.Successes)
		}
		if got := sumAgents(srv); int64(got) != res.Requests {
			t.Errorf("server saw %d requests, client sent %d", got, res.Requests)
		}
		if res.StatusCodes["200"] != res.Requests || len(res.Errors) != 0 {
			t.Errorf("statuses %v errors %v for %d requests", res.StatusCodes, res.Errors, res.Requests)
		}
		srv.checkEventLoops(t)
		if t.Failed() {
			return
		}
		if res.Requests == 200 {
			// Hit 199 is due at 1 s and answered after it.
			if res.DurationS < 1 {
				t.Errorf("duration %.3f s, want >= 1", res.DurationS)
			}
			return
		}
		if run == runs {
			t.Errorf("%d runs sent %d of 200 scheduled hits at most; want all 200", runs, res.Requests)
			return
		}
		t.Logf("run %d sent %d of 200 hits before the duration ended (a loaded machine?); running again", run, res.Requests)
	}
}

func sumAgents(os *openServer) int {
	os.mu.Lock()
	defer os.mu.Unlock()
	n := 0
	for _, v := range os.agents {
		n += v
	}
	return n
}

// The first request stalls 1 s on the only connection allowed. Every hit
// behind it, the last of 20 due at 100 ms, waits for it and cannot end
// before 1 s: latency from the schedule is at least 900 ms for every hit
// and 1 s for the first, where a latency from the actual send would be
// near zero for the hits behind. (The stall is long so that the bound on
// the service latency leaves a loaded machine half a second per answer.)
func TestOpenLoopLatencyFromSchedule(t *testing.T) {
	srv := newOpenServer(t, func(n int64) openReply {
		if n == 1 {
			return openReply{wait: time.Second, answer: ok200}
		}
		return openReply{answer: ok200}
	})
	res := runOpen(t, srv.url(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 200, MaxRequests: 20, MaxInFlight: 1})
	if res.Requests != 20 || res.Successes != 20 {
		t.Fatalf("requests %d successes %d, want 20", res.Requests, res.Successes)
	}
	if res.LatencyMS.Max < 1000 {
		t.Errorf("max latency %.1f ms, want >= 1000", res.LatencyMS.Max)
	}
	if res.LatencyMS.Min < 900 {
		t.Errorf("min latency %.1f ms, want >= 900: the hits behind the stall did not queue", res.LatencyMS.Min)
	}
	// From the actual send, only the stalled first request took 1 s; the
	// 19 behind it were answered at once.
	if sv := res.ServiceLatencyMS; sv == nil || sv.Max < 1000 || sv.P90 >= 500 {
		t.Errorf("service latency %+v, want max >= 1000 ms and p90 < 500 ms", sv)
	}
	if ok := res.SuccessLatencyMS; ok == nil || *ok != res.LatencyMS {
		t.Errorf("success latency %+v, want %+v (every answer was 200)", ok, res.LatencyMS)
	}
	if srv.accepted.Load() != 1 {
		t.Errorf("%d connections, want 1 (MaxInFlight 1)", srv.accepted.Load())
	}
	srv.checkEventLoops(t)
}

// With one connection, a server that takes 1 s and a 500 ms run at 40/s,
// only the first hit goes out: the other 19 scheduled hits are still
// waiting when the duration ends and are not sent. (The first hit, due at
// 25 ms, has the rest of the half second to dial and be sent on a loaded
// machine.)
func TestOpenLoopUnsentHits(t *testing.T) {
	srv := newOpenServer(t, func(int64) openReply { return openReply{wait: time.Second, answer: ok200} })
	res := runOpen(t, srv.url(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 40, Duration: 500 * time.Millisecond, MaxInFlight: 1})
	if res.Scheduled != 20 || res.Requests != 1 || res.Successes != 1 {
		t.Errorf("scheduled %d requests %d successes %d; want 20, 1, 1", res.Scheduled, res.Requests, res.Successes)
	}
	if res.LatencyMS.Max < 1000 {
		t.Errorf("latency %.1f ms, want >= 1000", res.LatencyMS.Max)
	}
}

// A server that answers with Connection: close and hangs up after every
// response: each request needs a new connection, and all 20 are answered.
func TestOpenLoopReplacesClosedConnections(t *testing.T) {
	const closing = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
	srv := newOpenServer(t, func(int64) openReply { return openReply{answer: closing, hangUp: true} })
	res := runOpen(t, srv.url(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 200, MaxRequests: 20, MaxInFlight: 2})
	if res.Requests != 20 || res.Successes != 20 || len(res.Errors) != 0 {
		t.Errorf("requests %d successes %d errors %v; want 20 answered", res.Requests, res.Successes, res.Errors)
	}
	if got := srv.perConnMax.Load(); got != 1 {
		t.Errorf("a connection carried %d requests after Connection: close", got)
	}
	if got := srv.accepted.Load(); got < 20 {
		t.Errorf("%d connections for 20 requests on closing connections", got)
	}
}

// Statuses are counted apart: 503s are errors under their status, 200s
// successes, in the order the bodies cycle.
func TestOpenLoopStatuses(t *testing.T) {
	ts := newTestServer(t, 0)
	res := runOpen(t, ts.predictURL(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 500, MaxRequests: 20}, `{"x":"ok"}`, `{"x":"busy"}`)
	wantCodes := map[string]int64{"200": 10, "503": 10}
	wantErrs := map[string]int64{"503": 10}
	if res.Requests != 20 || res.Successes != 10 || fmt.Sprint(res.StatusCodes) != fmt.Sprint(wantCodes) || fmt.Sprint(res.Errors) != fmt.Sprint(wantErrs) {
		t.Errorf("requests %d successes %d statuses %v errors %v; want 20, 10, %v, %v",
			res.Requests, res.Successes, res.StatusCodes, res.Errors, wantCodes, wantErrs)
	}
	if res.SuccessRPS <= 0 || res.SuccessRPS >= res.ThroughputRPS {
		t.Errorf("success rps %.1f, throughput %.1f", res.SuccessRPS, res.ThroughputRPS)
	}
	if res.SuccessLatencyMS == nil || res.ServiceLatencyMS == nil {
		t.Errorf("success latency %v, service latency %v: want both for the ten 200s", res.SuccessLatencyMS, res.ServiceLatencyMS)
	}
}

// Far more hits than three connections can carry: the client opens
// exactly three and never has more than three requests at the server.
func TestOpenLoopConnectionCap(t *testing.T) {
	srv := newOpenServer(t, func(int64) openReply { return openReply{wait: 10 * time.Millisecond, answer: ok200} })
	res := runOpen(t, srv.url(), HTTPOptions{Timeout: 5 * time.Second}, Config{Rate: 2000, MaxRequests: 60, MaxInFlight: 3})
	if res.Requests != 60 || res.Successes != 60 {
		t.Errorf("requests %d successes %d, want 60", res.Requests, res.Successes)
	}
	if got := srv.accepted.Load(); got != 3 {
		t.Errorf("%d connections accepted, want 3 (the cap, reached by the backlog)", got)
	}
	if got := srv.inflightMax.Load(); got > 3 {
		t.Errorf("%d requests at the server at once, cap 3", got)
	}
	// 60 hits on 3 connections of 10 ms each take at least 200 ms; the
	// last is due at 30 ms, so it waited at least 170 ms.
	if res.LatencyMS.Max < 170 {
		t.Errorf("max latency %.1f ms, want >= 170", res.LatencyMS.Max)
	}
}

// Every third request stalls until the client's 500 ms timeout: those
// count as timeouts, and their connections are replaced. (The timeout is
// long enough that a loaded machine still answers the others within it.)
func TestOpenLoopTimeouts(t *testing.T) {
	srv := newOpenServer(t, func(n int64) openReply {
		if n%3 == 0 {
			return openReply{stall: true}
		}
		return openReply{answer: ok200}
	})
	res := runOpen(t, srv.url(), HTTPOptions{Timeout: 500 * time.Millisecond}, Config{Rate: 200, MaxRequests: 12})
	if res.Requests != 12 || res.Successes != 8 || res.Errors["timeout"] != 4 {
		t.Errorf("requests %d successes %d errors %v; want 12, 8 and 4 timeouts", res.Requests, res.Successes, res.Errors)
	}
	if res.LatencyMS.Max < 500 {
		t.Errorf("max latency %.1f ms, below the 500 ms timeout", res.LatencyMS.Max)
	}
}

// Canceling the context ends a run whose requests all stall: the four in
// flight on the four connections allowed end as canceled.
func TestOpenLoopCancel(t *testing.T) {
	srv := newOpenServer(t, func(int64) openReply { return openReply{stall: true} })
	tgt := targetWith(t, srv.url(), HTTPOptions{Timeout: time.Minute}, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once four requests stall at the server (a fixed 200 ms could
	// pass before a loaded machine had sent them all).
	cancelWhen(cancel, func() bool { return srv.inflight.Load() >= 4 })
	start := time.Now()
	res, err := RunOpen(ctx, tgt, Config{Rate: 100, Duration: 30 * time.Second, MaxInFlight: 4})
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("canceled run took %v", el)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 4 || res.Errors["canceled"] != 4 {
		t.Errorf("requests %d errors %v; want 4 canceled", res.Requests, res.Errors)
	}
	if got := srv.accepted.Load(); got != 4 {
		t.Errorf("%d connections, want the cap of 4", got)
	}
}
