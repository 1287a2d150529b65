package requestlog

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tfserve/tfserve/servable/status"
)

// accessKeys are the fields of every access-log line, in order.
var accessKeys = []string{"time", "protocol", "api", "model", "version", "status", "code", "latency_ms",
	"request_bytes", "response_bytes", "client"}

// parseAccess parses access-log lines, checking each has exactly
// accessKeys in that order.
func parseAccess(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.Token()
		var keys []string
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var v any
			dec.Decode(&v)
		}
		if !slices.Equal(keys, accessKeys) {
			t.Fatalf("keys %v, want %v", keys, accessKeys)
		}
		out = append(out, m)
	}
	return out
}

func TestAccessLogLines(t *testing.T) {
	var buf bytes.Buffer
	a, err := NewAccessLog(&buf, AccessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	a.Log(AccessEntry{Time: at, Protocol: ProtocolREST, API: "predict", Model: "m\"<\n", Version: 3, Code: status.OK,
		HTTPStatus: 200, Latency: 1234567 * time.Nanosecond, RequestBytes: 57, ResponseBytes: 31,
		Client: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 51234}})
	a.Log(AccessEntry{Time: at, Protocol: ProtocolGRPC, API: "predict", Model: "m", Code: status.NotFound, Latency: time.Microsecond})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a.Log(AccessEntry{}) // after Close: ignored
	lines := parseAccess(t, buf.Bytes())
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	want := []map[string]any{
		{"time": "2025-01-02T02:04:05.123456Z", "protocol": "rest", "api": "predict", "model": "m\"<\n", "version": 3.0,
			"status": "OK", "code": 200.0, "latency_ms": 1.235, "request_bytes": 57.0, "response_bytes": 31.0, "client": "10.0.0.7:51234"},
		{"time": "2025-01-02T02:04:05.123456Z", "protocol": "grpc", "api": "predict", "model": "m", "version": nil,
			"status": "NOT_FOUND", "code": 5.0, "latency_ms": 0.001, "request_bytes": 0.0, "response_bytes": 0.0, "client": ""},
	}
	for i := range want {
		for k, v := range want[i] {
			if lines[i][k] != v {
				t.Errorf("line %d %s = %#v, want %#v", i, k, lines[i][k], v)
			}
		}
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestAccessLogDropsWhenFull(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	a, err := NewAccessLog(w, AccessOptions{Queue: 2, FlushInterval: time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	a.Log(AccessEntry{Protocol: ProtocolREST, API: "status"})
	<-w.entered // the writer is stuck flushing the first line
	start := time.Now()
	for range 10 {
		a.Log(AccessEntry{Protocol: ProtocolREST, API: "status"})
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Log waited %v", d)
	}
	if v := counterValue(t, a.dropped); v != 8 {
		t.Errorf("dropped %v, want 8", v)
	}
	if fam := gathered(t, reg)["tfserve_access_log_dropped_total"]; fam.GetMetric()[0].GetCounter().GetValue() != 8 {
		t.Errorf("exported %v", fam)
	}
	close(w.release)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if lines := parseAccess(t, w.buf.Bytes()); len(lines) != 3 {
		t.Errorf("%d lines written", len(lines))
	}
}

func TestOpenAccessLogAppends(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	for i := range 2 {
		a, err := OpenAccessLog(p, AccessOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Log(AccessEntry{Protocol: ProtocolGRPC, API: "status", Version: int64(i + 1)})
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := parseAccess(t, b)
	if len(lines) != 2 || lines[0]["version"] != 1.0 || lines[1]["version"] != 2.0 {
		t.Fatalf("%s", b)
	}
	if _, err := OpenAccessLog(filepath.Join(t.TempDir(), "missing", "a.log"), AccessOptions{}); err == nil {
		t.Error("no error for a missing directory")
	}
	if _, err := OpenAccessLog("", AccessOptions{}); err == nil {
		t.Error("no error for an empty destination")
	}
	var nilLog *AccessLog
	nilLog.Log(AccessEntry{})
	if nilLog.Close() != nil {
		t.Error("nil Close")
	}
}
