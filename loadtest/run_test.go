package loadtest

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/syncbuf"
)

// testServer is an in-process HTTP server on 127.0.0.1 that records the
// bodies it receives and answers 400 to bodies containing "bad", 503 to
// bodies containing "busy" and 200 otherwise, after an optional delay. It
// also counts the client connections (by remote address) and the most
// requests it served at once.
type testServer struct {
	*httptest.Server
	delay       time.Duration
	count       atomic.Int64
	inflight    atomic.Int64
	inflightMax atomic.Int64
	mu          sync.Mutex
	seen        []string
	remotes     map[string]bool
}

func newTestServer(t *testing.T, delay time.Duration) *testServer {
	t.Helper()
	ts := &testServer{delay: delay, remotes: map[string]bool{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raiseTo(&ts.inflightMax, ts.inflight.Add(1))
		defer ts.inflight.Add(-1)
		body, _ := io.ReadAll(r.Body)
		ts.count.Add(1)
		ts.mu.Lock()
		ts.seen = append(ts.seen, string(body))
		ts.remotes[r.RemoteAddr] = true
		ts.mu.Unlock()
		if ts.delay > 0 {
			time.Sleep(ts.delay)
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			w.WriteHeader(http.StatusMethodNotAllowed)
		case bytes.Contains(body, []byte("bad")):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error": "bad"}`)
		case bytes.Contains(body, []byte("busy")):
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error": "busy"}`)
		default:
			fmt.Fprint(w, `{"predictions": [2.5]}`)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

// connections is the number of client connections the server saw.
func (ts *testServer) connections() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.remotes)
}

func (ts *testServer) predictURL() string { return ts.URL + "/v1/models/m:predict" }

// newTarget is targetWith the default options and a 5 s timeout.
func newTarget(t *testing.T, url string, bodies ...string) *HTTPTarget {
	t.Helper()
	return targetWith(t, url, HTTPOptions{Timeout: 5 * time.Second}, bodies...)
}

func TestClosedLoopCyclesBodies(t *testing.T) {
	ts := newTestServer(t, 0)
	tgt := newTarget(t, ts.predictURL(), `{"i":"A"}`, `{"i":"B"}`, `{"i":"C"}`)
	res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 1, MaxRequests: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 7 || res.Successes != 7 || res.StatusCodes["200"] != 7 || len(res.Errors) != 0 {
		t.Errorf("result %+v", res)
	}
	want := []string{"A", "B", "C", "A", "B", "C", "A"}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) != len(want) {
		t.Fatalf("server saw %d requests, want %d", len(ts.seen), len(want))
	}
	for i, w := range want {
		if ts.seen[i] != `{"i":"`+w+`"}` {
			t.Errorf("request %d body %s, want %s", i, ts.seen[i], w)
		}
	}
}

func TestErrorsByStatus(t *testing.T) {
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			ts := newTestServer(t, 0)
			tgt := newTarget(t, ts.predictURL(), `{"x":"ok"}`, `{"x":"bad"}`, `{"x":"busy"}`)
			cfg := Config{Concurrency: 3, MaxRequests: 30, Rate: 1000}
			var res *Result
			var err error
			if mode == "closed" {
				res, err = RunClosed(context.Background(), tgt, cfg)
			} else {
				res, err = RunOpen(context.Background(), tgt, cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			if mode == "open" && res.Scheduled != 30 {
				t.Errorf("scheduled %d, want 30", res.Scheduled)
			}
			if res.Requests != 30 || ts.count.Load() != 30 {
				t.Errorf("requests %d, server saw %d, want 30", res.Requests, ts.count.Load())
			}
			want := map[string]int64{"400": 10, "503": 10}
			if fmt.Sprint(res.Errors) != fmt.Sprint(want) {
				t.Errorf("errors %v, want %v", res.Errors, want)
			}
			if res.Successes != 10 || res.StatusCodes["200"] != 10 || res.StatusCodes["503"] != 10 {
				t.Errorf("successes %d, statuses %v", res.Successes, res.StatusCodes)
			}
		})
	}
}

func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1/models/m:predict"
}

func TestTransportErrors(t *testing.T) {
	tgt := newTarget(t, closedPortURL(t), `{}`)
	res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 2, MaxRequests: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 6 || res.Successes != 0 || res.Errors["connection refused"] != 6 {
		t.Errorf("closed: requests %d successes %d errors %v", res.Requests, res.Successes, res.Errors)
	}
	res, err = RunOpen(context.Background(), tgt, Config{Rate: 500, MaxRequests: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 6 || res.Errors["connection refused"] != 6 {
		t.Errorf("open: requests %d errors %v", res.Requests, res.Errors)
	}
}

func TestErrorKey(t *testing.T) {
	cases := map[string]string{
		`Post "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused`: "connection refused",
		"dial tcp4 127.0.0.1:9: connect: connection refused":                             "connection refused",
		"read tcp 127.0.0.1:5->127.0.0.1:6: read: connection reset by peer":              "connection reset",
		"timeout": "timeout",
		"context deadline exceeded (Client.Timeout exceeded while awaiting headers)":                                                                                            "timeout",
		"the server closed connection before returning the first response byte. Make sure the server returns 'Connection: close' response header before closing the connection": "connection closed",
		"unexpected EOF": "EOF",
		"protocol error: response header: invalid status":                           "invalid response",
		`error when reading response headers: invalid response status code "ready"`: "invalid response",
		"":              "unknown error",
		"something odd": "something odd",
	}
	for in, want := range cases {
		if got := ErrorKey(in); got != want {
			t.Errorf("ErrorKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenLoopRate runs the goroutine client (vegeta's attacker) at 200/s
// for a fixed number of requests, so every count is exact; the event loops'
// count is checked in TestOpenLoopExactCount. Hit k (from 0) is due
// (k+1)*5 ms after the start and is not sent before, so the last of 100
// ends no earlier than 500 ms in: a client that did not keep to the rate
// would send them all at once and finish in a few milliseconds. Only that
// lower bound is checked; a slow machine can take any longer.
func TestOpenLoopRate(t *testing.T) {
	const n = 100
	ts := newTestServer(t, 0)
	tgt := targetWith(t, ts.predictURL(), HTTPOptions{Timeout: 5 * time.Second, GoroutineClient: true}, `{}`)
	if tgt.useEventLoops() {
		t.Fatal("GoroutineClient target would run on the event loops")
	}
	res, err := RunOpen(context.Background(), tgt, Config{Rate: 200, MaxRequests: n})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != n || res.Requests != n || res.Successes != n {
		t.Errorf("scheduled %d requests %d successes %d; want %d each", res.Scheduled, res.Requests, res.Successes, n)
	}
	if got := ts.count.Load(); got != n {
		t.Errorf("server saw %d requests, want %d", got, n)
	}
	if res.StatusCodes["200"] != n || len(res.Errors) != 0 {
		t.Errorf("statuses %v errors %v; want %d × 200", res.StatusCodes, res.Errors, n)
	}
	if res.Mode != "open" || res.TargetRateRPS != 200 {
		t.Errorf("mode %q rate %v; want open at 200/s", res.Mode, res.TargetRateRPS)
	}
	// The result's start is read a moment after the attack begins, so
	// the bound leaves 50 ms for that.
	if res.DurationS < 0.45 {
		t.Errorf("%d requests at 200/s took %.3f s, want >= 0.45 s (the last is due at 0.5 s)", n, res.DurationS)
	}
}

// fakeTarget is a non-HTTP Target, as a gRPC target would be: it sleeps
// and counts calls.
type fakeTarget struct {
	delay time.Duration
	calls atomic.Int64
}

func (f *fakeTarget) Do(ctx context.Context) (string, error) {
	n := f.calls.Add(1)
	time.Sleep(f.delay)
	if n%4 == 0 {
		return "", errors.New("dial tcp 10.0.0.1:8500: connect: connection refused")
	}
	return "200", nil
}

func TestGenericTarget(t *testing.T) {
	ft := &fakeTarget{}
	res, err := RunOpen(context.Background(), ft, Config{Rate: 2000, MaxRequests: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 40 || ft.calls.Load() != 40 || res.Errors["connection refused"] != 10 || res.Successes != 30 {
		t.Errorf("open: calls %d, result %+v", ft.calls.Load(), res)
	}
	ft = &fakeTarget{}
	res, err = RunClosed(context.Background(), ft, Config{Concurrency: 4, MaxRequests: 40})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 40 || ft.calls.Load() != 40 || res.Errors["connection refused"] != 10 {
		t.Errorf("closed: calls %d, result %+v", ft.calls.Load(), res)
	}
}

// With one request in flight at a time and a 20 ms service time, requests
// due every 5 ms fall ever further behind. Request k (from 0) cannot end
// before 5 ms + (k+1)*20 ms after the start but was due at (k+1)*5 ms, so
// its latency from the schedule is at least 5 + 15(k+1) ms: 305 ms for the
// last of 20, 170 ms for the 11th. A latency measured from the actual send
// would stay near 20 ms. Slow machines only make the latencies larger.
func TestOpenLoopMeasuresFromSchedule(t *testing.T) {
	check := func(t *testing.T, res *Result) {
		t.Helper()
		if res.Requests != 20 {
			t.Fatalf("%d requests, want 20", res.Requests)
		}
		if res.LatencyMS.Max < 300 {
			t.Errorf("max latency %.1f ms, want >= 300 (coordinated omission?)", res.LatencyMS.Max)
		}
		if res.LatencyMS.P50 < 150 {
			t.Errorf("p50 latency %.1f ms, want >= 150", res.LatencyMS.P50)
		}
	}
	cfg := Config{Rate: 200, MaxRequests: 20, MaxInFlight: 1}
	clients(t, func(t *testing.T, opt HTTPOptions) {
		ts := newTestServer(t, 20*time.Millisecond)
		res, err := RunOpen(context.Background(), targetWith(t, ts.predictURL(), opt, `{}`), cfg)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res)
	})
	t.Run("paced", func(t *testing.T) {
		res, err := RunOpen(context.Background(), &fakeTarget{delay: 20 * time.Millisecond}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		check(t, res)
	})
}

func TestWarmupNotCounted(t *testing.T) {
	ts := newTestServer(t, 0)
	tgt := newTarget(t, ts.predictURL(), `{}`)
	res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 2, Warmup: 50 * time.Millisecond, MaxRequests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 {
		t.Errorf("measured %d requests, want 10", res.Requests)
	}
	if got := ts.count.Load(); got < 12 {
		t.Errorf("server saw %d requests, want the 10 measured plus at least one warm-up per worker", got)
	}
}

func TestConfigErrors(t *testing.T) {
	ft := &fakeTarget{}
	ctx := context.Background()
	if _, err := RunClosed(ctx, ft, Config{}); err == nil {
		t.Error("closed loop without duration or count succeeded")
	}
	if _, err := RunClosed(ctx, ft, Config{Concurrency: -1, MaxRequests: 1}); err == nil {
		t.Error("negative concurrency succeeded")
	}
	if _, err := RunOpen(ctx, ft, Config{MaxRequests: 1}); err == nil {
		t.Error("open loop without rate succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := RunClosed(cctx, ft, Config{MaxRequests: 5}); err == nil {
		t.Error("canceled context succeeded")
	}
	if ft.calls.Load() != 0 {
		t.Errorf("%d calls on bad configs", ft.calls.Load())
	}
}

// The HDR summary is compared with exact percentiles of a known set:
// latencies of 1..1000 ms, so the q-th percentile is q*10 ms.
func TestSummaryPercentiles(t *testing.T) {
	rec := newRecorder(nil)
	for i := 1000; i >= 1; i-- {
		rec.add(time.Duration(i)*time.Millisecond, "200", "")
	}
	res := summarize([]*recorder{rec}, 2*time.Second)
	near := func(name string, got, want float64) {
		if got < want*0.999 || got > want*1.001+0.001 {
			t.Errorf("%s = %v ms, want %v (within HDR precision)", name, got, want)
		}
	}
	l := res.LatencyMS
	near("p50", l.P50, 500)
	near("p90", l.P90, 900)
	near("p99", l.P99, 990)
	near("p99.9", l.P999, 999)
	near("max", l.Max, 1000)
	near("min", l.Min, 1)
	near("mean", l.Mean, 500.5)
	if res.Requests != 1000 || res.ThroughputRPS != 500 {
		t.Errorf("requests %d throughput %v", res.Requests, res.ThroughputRPS)
	}
}

func TestProgressLines(t *testing.T) {
	var buf syncbuf.Buffer
	_, err := RunClosed(context.Background(), &fakeTarget{delay: time.Millisecond}, Config{
		MaxRequests: 30, Progress: &buf, ProgressInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "c=1 ") || !strings.Contains(last, "requests=30 ") || !strings.Contains(last, "errors=7 ") || !strings.HasSuffix(last, "done") {
		t.Errorf("last progress line %q", last)
	}
}

func sweepResults(t *testing.T) []*Result {
	t.Helper()
	ts := newTestServer(t, 0)
	tgt := newTarget(t, ts.predictURL(), `{"x":"ok"}`, `{"x":"ok"}`, `{"x":"busy"}`, `{"x":"ok"}`)
	res, err := SweepConcurrency(context.Background(), tgt, []int{1, 2, 4}, Config{MaxRequests: 40})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	for i, c := range []int{1, 2, 4} {
		if res[i].Concurrency != c || res[i].Requests != 40 || res[i].Errors["503"] != 10 {
			t.Errorf("level %d: %+v", c, res[i])
		}
	}
	return res
}

func TestJSONOutput(t *testing.T) {
	res := sweepResults(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res, true); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		t.Fatalf("sweep JSON is not a list: %v", err)
	}
	if len(list) != 3 {
		t.Fatalf("%d entries", len(list))
	}
	for i, m := range list {
		checkResultJSON(t, m, res[i])
	}
	buf.Reset()
	if err := WriteJSON(&buf, res[:1], false); err != nil {
		t.Fatal(err)
	}
	var one map[string]any
	if err := json.Unmarshal(buf.Bytes(), &one); err != nil {
		t.Fatalf("single-run JSON is not an object: %v", err)
	}
	checkResultJSON(t, one, res[0])
}

func checkResultJSON(t *testing.T, m map[string]any, r *Result) {
	t.Helper()
	if m["requests"] != float64(r.Requests) || m["throughput_rps"] != r.ThroughputRPS || m["concurrency"] != float64(r.Concurrency) {
		t.Errorf("json %v does not match %+v", m, r)
	}
	lat, ok := m["latency_ms"].(map[string]any)
	if !ok {
		t.Fatalf("no latency_ms object in %v", m)
	}
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		v, ok := lat[k].(float64)
		if !ok || v <= 0 {
			t.Errorf("latency_ms.%s = %v", k, lat[k])
		}
	}
	if !(lat["p50"].(float64) <= lat["p90"].(float64) && lat["p90"].(float64) <= lat["p99"].(float64) &&
		lat["p99"].(float64) <= lat["p999"].(float64) && lat["p999"].(float64) <= lat["max"].(float64)) {
		t.Errorf("percentiles not ordered: %v", lat)
	}
	errs, ok := m["errors"].(map[string]any)
	if !ok || errs["503"] != float64(r.Errors["503"]) {
		t.Errorf("errors = %v", m["errors"])
	}
}

func TestCSVOutput(t *testing.T) {
	res := sweepResults(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("rows %v", rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, r := range res {
		row := rows[i+1]
		if row[col["concurrency"]] != strconv.Itoa(r.Concurrency) || row[col["requests"]] != "40" || row[col["errors"]] != "503=10" {
			t.Errorf("row %v for %+v", row, r)
		}
		if v, err := strconv.ParseFloat(row[col["latency_p99_ms"]], 64); err != nil || v != r.LatencyMS.P99 {
			t.Errorf("p99 column %q, want %v", row[col["latency_p99_ms"]], r.LatencyMS.P99)
		}
	}
}

func TestPlotOutput(t *testing.T) {
	res := sweepResults(t)
	var buf bytes.Buffer
	if err := WritePlotHTML(&buf, "sweep <test> & more", res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatal("not an HTML page")
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "src=") || strings.Contains(page, "href=") {
		t.Error("page loads external content")
	}
	i, j := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no inline SVG")
	}
	checkSVG(t, page[i:j+len("</svg>")], res)

	buf.Reset()
	if err := WriteSVG(&buf, "t", res); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, buf.String(), res)
}

// checkSVG parses the SVG as XML and checks one point per result and
// percentile, with x increasing with throughput and y falling as latency
// rises.
func checkSVG(t *testing.T, svg string, res []*Result) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	type pt struct{ x, y float64 }
	points := map[string][]pt{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "circle" {
			continue
		}
		var p pt
		var class string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "cx":
				p.x, _ = strconv.ParseFloat(a.Value, 64)
			case "cy":
				p.y, _ = strconv.ParseFloat(a.Value, 64)
			case "class":
				class = a.Value
			}
		}
		points[class] = append(points[class], p)
	}
	for _, s := range []struct {
		class string
		get   func(Latency) float64
	}{{"point-p50", func(l Latency) float64 { return l.P50 }}, {"point-p99", func(l Latency) float64 { return l.P99 }}} {
		ps := points[s.class]
		if len(ps) != len(res) {
			t.Fatalf("%d %s points, want %d", len(ps), s.class, len(res))
		}
		idx := make([]int, len(res))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return res[idx[a]].ThroughputRPS < res[idx[b]].ThroughputRPS })
		for k := 1; k < len(idx); k++ {
			a, b := idx[k-1], idx[k]
			if res[a].ThroughputRPS < res[b].ThroughputRPS && !(ps[a].x < ps[b].x) {
				t.Errorf("%s: x not increasing with throughput", s.class)
			}
			if la, lb := s.get(res[a].LatencyMS), s.get(res[b].LatencyMS); la < lb && !(ps[a].y > ps[b].y) {
				t.Errorf("%s: y not decreasing with latency", s.class)
			}
		}
	}
}

func TestMainCLI(t *testing.T) {
	ts := newTestServer(t, 0)
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "b.jsonl")
	if err := os.WriteFile(jsonl, []byte("{\"x\":\"ok\"}\n{\"x\":\"bad\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonOut, csvOut, plotOut := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "p.html")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{
		"--url", ts.predictURL(), "--jsonl", jsonl, "--concurrency", "2", "--requests", "20",
		"--duration", "0", "--json-out", jsonOut, "--csv-out", csvOut, "--plot-out", plotOut, "--quiet",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var m map[string]any
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["requests"] != float64(20) || m["errors"].(map[string]any)["400"] != float64(10) {
		t.Errorf("json %s", b)
	}
	for _, p := range []string{csvOut, plotOut} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	if !strings.Contains(stdout.String(), "p99 ms") || !strings.Contains(stdout.String(), "400:10") {
		t.Errorf("table:\n%s", stdout.String())
	}

	// The goroutine client, through the command line, counts the same.
	stdout.Reset()
	if code := Main(context.Background(), []string{"--url", ts.predictURL(), "--jsonl", jsonl, "--concurrency", "2",
		"--requests", "20", "--duration", "0", "--client", "goroutine", "--threads", "1", "--json-out", jsonOut, "--quiet"}, &stdout, &stderr); code != 0 {
		t.Fatalf("goroutine client: exit %d: %s", code, stderr.String())
	}
	if b, err := os.ReadFile(jsonOut); err != nil || !strings.Contains(string(b), `"400": 10`) {
		t.Errorf("goroutine client json: %s %v", b, err)
	}

	// Bad flags exit 2.
	for _, args := range [][]string{{}, {"--url", "x", "--body", "a", "--jsonl", "b"}, {"--url", "x", "--rate", "5", "--sweep", "1,2"},
		{"--url", "x", "--client", "threads"}, {"--url", "x", "--threads", "0"}} {
		if code := Main(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("Main(%q) = %d, want 2", args, code)
		}
	}
}

// TestMainGeneratedFromMetadata serves the half_plus_two metadata fixture
// and a predict handler that checks each body against the signature
// (instances: a list of --batch rows of one float each).
func TestMainGeneratedFromMetadata(t *testing.T) {
	meta := halfPlusTwoMetadata(t)
	var bad atomic.Int64
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/models/half_plus_two/metadata":
			w.Write(meta)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/models/half_plus_two:predict":
			got.Add(1)
			var req struct {
				Instances [][]float64 `json:"instances"`
			}
			dec := json.NewDecoder(r.Body)
			dec.DisallowUnknownFields()
			ok := dec.Decode(&req) == nil && len(req.Instances) == 4
			for _, row := range req.Instances {
				ok = ok && len(row) == 1
			}
			if !ok {
				bad.Add(1)
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, `{"predictions": [[2.5]]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	jsonOut, plotOut := filepath.Join(dir, "sweep.json"), filepath.Join(dir, "p.svg")
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{
		"--url", srv.URL + "/v1/models/half_plus_two:predict", "--batch", "4", "--sweep", "1,3",
		"--requests", "15", "--duration", "0", "--json-out", jsonOut, "--plot-out", plotOut, "--quiet",
	}, io.Discard, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if bad.Load() != 0 || got.Load() != 30 {
		t.Errorf("server: %d requests, %d malformed", got.Load(), bad.Load())
	}
	b, _ := os.ReadFile(jsonOut)
	var list []Result
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 2 || list[1].Concurrency != 3 || list[1].Requests != 15 {
		t.Errorf("sweep json %s (%v)", b, err)
	}
	svg, _ := os.ReadFile(plotOut)
	if !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("plot is not SVG: %.40s", svg)
	}
	// --print-body prints one generated body.
	var stdout bytes.Buffer
	code = Main(context.Background(), []string{"--url", srv.URL + "/v1/models/half_plus_two:predict", "--print-body", "--columnar", "--batch", "2"}, &stdout, io.Discard)
	var body struct {
		Inputs map[string][][]float64 `json:"inputs"`
	}
	if code != 0 || json.Unmarshal(stdout.Bytes(), &body) != nil || len(body.Inputs["x"]) != 2 {
		t.Errorf("print-body exit %d: %s", code, stdout.String())
	}
}
