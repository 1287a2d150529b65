package restapi

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/internal/syncbuf"
)

var gzipHeader = map[string]string{"Content-Encoding": "gzip"}

// TestDeepNestingAttacks: the reported bodies of '[' (a 20 KB gzip of 20 MiB
// and 16 MiB plain) fail at the 301st level with 400 naming the flag.
func TestDeepNestingAttacks(t *testing.T) {
	h := twoVersions(t, nil, nil)
	want := "JSON nesting depth is 301, over the limit of 300 (--request_max_json_depth)"
	bomb := gzipped(t, `{"instances": `+strings.Repeat("[", 20<<20))
	if len(bomb) > 64<<10 {
		t.Fatalf("gzip bomb is %d bytes", len(bomb))
	}
	h.expectError(h.do("POST", "/v1/models/m:predict", bomb, gzipHeader), 400, want)
	h.expectError(h.post("/v1/models/m:predict", strings.Repeat("[", 16<<20)), 400,
		"JSON Parse error: "+want+" at offset: 300")
	// classify and regress parse with the same limit.
	h.expectError(h.post("/v1/models/m:classify", `{"examples": `+strings.Repeat("[", 1000)), 400, want)
	// Rank: 255 nested lists as a columnar input.
	deep := strings.Repeat("[", 255) + "1" + strings.Repeat("]", 255)
	h.expectError(h.post("/v1/models/m:predict", `{"inputs": `+deep+`}`), 400,
		"tensor rank is 255, over the limit of 254 (--request_max_rank)")
	// The server is still serving.
	if got := floats(t, h.post("/v1/models/m:predict", `{"instances": [2.0]}`).body, "predictions"); !reflect.DeepEqual(got, []float64{3}) {
		t.Errorf("after the attacks: %v", got)
	}
}

// TestResponseIndentAttack: a small columnar request of rank 250 whose
// output is written one element per line after 1000 bytes of indent.
func TestResponseIndentAttack(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.Limits.MaxResponseBytes = 1 << 20 }, nil)
	body := `{"inputs": ` + strings.Repeat("[", 249) + "[" + strings.Repeat("0,", 4095) + "0]" + strings.Repeat("]", 249) + "}"
	h.expectError(h.post("/v1/models/m:predict", body), 400,
		"JSON response is larger than the limit of 1048576 bytes (--response_max_bytes)")
	// Element budget, over REST.
	h2 := twoVersions(t, func(o *Options) { o.Limits.MaxElements = 3 }, nil)
	h2.expectError(h2.post("/v1/models/m:predict", `{"instances": [1, 2, 3, 4]}`), 400,
		"request input tensors' element count needs 4, over the limit of 3 (--request_max_elements)")
}

// TestGzipLayers: only one gzip layer is decoded (gzip-of-gzip reaches the
// JSON parser as binary), and the decompressed cap applies across the
// members of a multi-member stream.
func TestGzipLayers(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxBodyBytes = 1 << 20 }, nil)
	inner := gzipped(t, `{"instances": [`+strings.Repeat("0,", 2<<20)+`0]}`)
	r := h.do("POST", "/v1/models/m:predict", gzipped(t, string(inner)), map[string]string{"Content-Encoding": "gzip, gzip"})
	h.expectError(r, 400, "JSON Parse error")
	half := gzipped(t, strings.Repeat(" ", 700<<10))
	multi := append(append([]byte{}, half...), half...)
	h.expectError(h.do("POST", "/v1/models/m:predict", multi, gzipHeader), 413,
		"Uncompressed request body is larger than the limit of 1048576 bytes (--rest_api_max_body_bytes)")
}

func TestHeaderLimit(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxHeaderBytes = 4096 }, nil)
	r := h.do("POST", "/v1/models/m:predict", []byte(`{"instances": [1.0]}`), map[string]string{"X-Big": strings.Repeat("a", 8192)})
	h.expectError(r, 431, "Request headers are larger than the limit of 4096 bytes (--rest_api_max_header_bytes)")
	if r := h.post("/v1/models/m:predict", `{"instances": [1.0]}`); r.code != 200 {
		t.Errorf("normal request after 431: %d %s", r.code, r.body)
	}
}

// dialAll opens n connections to the harness and writes prefix on each.
func dialAll(t *testing.T, h *harness, n int, prefix func(i int) string) []net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(h.url, "http://")
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, prefix(i)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	return conns
}

// TestSlowClientsHoldNoWorker: 500 half-sent requests (headers trickled, or
// a body announced as 1e6 bytes with 10 sent) while only 2 requests may be
// processed at once: a normal predict still answers.
func TestSlowClientsHoldNoWorker(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxConcurrentRequests = 2 }, nil)
	dialAll(t, h, 500, func(i int) string {
		if i%2 == 0 {
			return "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nX-Slow: "
		}
		return "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{\"instance"
	})
	for range 3 {
		r := h.post("/v1/models/m:predict", `{"instances": [2.0]}`)
		if got := floats(t, r.body, "predictions"); r.code != 200 || !reflect.DeepEqual(got, []float64{3}) {
			t.Fatalf("normal request among slow ones: %d %s", r.code, r.body)
		}
	}
}

// TestMaxConnections: past --rest_api_max_connections a connection is
// answered 503 and closed, not queued.
func TestMaxConnections(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.MaxConnections = 5 }, nil)
	dialAll(t, h, 5, func(int) string { return "GET /v1/models/m HTTP/1.1\r\nHost: x\r\n" })
	extra := dialAll(t, h, 1, func(int) string { return "GET /v1/models/m HTTP/1.1\r\nHost: x\r\n\r\n" })[0]
	extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(extra), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != fasthttp.StatusServiceUnavailable {
		t.Errorf("connection 6 of 5: status %d", resp.StatusCode)
	}
}

// TestReadTimeout: a request still arriving after --rest_api_read_timeout_ms
// gets 408 and its connection is closed.
func TestReadTimeout(t *testing.T) {
	h := twoVersions(t, func(o *Options) { o.ReadTimeout = 100 * time.Millisecond }, nil)
	c := dialAll(t, h, 1, func(int) string {
		return "POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
	})[0]
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != fasthttp.StatusRequestTimeout || !strings.Contains(string(body), "(--rest_api_read_timeout_ms)") {
		t.Errorf("slow body: %d %s", resp.StatusCode, body)
	}
}

// TestPanicRecovered: a panic in a handler is answered 500 with an id only;
// the value and stack go to the error log under that id.
func TestPanicRecovered(t *testing.T) {
	var logs syncbuf.Buffer
	h := twoVersions(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
		o.Handlers = map[string]fasthttp.RequestHandler{"/boom": func(*fasthttp.RequestCtx) { panic("secret detail 42") }}
	}, nil)
	r := h.get("/boom")
	m := regexp.MustCompile(`^\{\n    "error": "Internal error \(id ([0-9A-Za-z]+)\)"\n\}$`).FindStringSubmatch(r.body)
	if r.code != 500 || m == nil {
		t.Fatalf("got %d %q", r.code, r.body)
	}
	if strings.Contains(r.body, "secret") || strings.Contains(r.body, "goroutine") {
		t.Errorf("panic detail reached the client: %s", r.body)
	}
	log := logs.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "id="+m[1]) ||
		!strings.Contains(log, "secret detail 42") || !strings.Contains(log, "attacks_test.go") {
		t.Errorf("log lacks the id, value or stack: %s", log)
	}
	if r := h.post("/v1/models/m:predict", `{"instances": [2.0]}`); r.code != 200 {
		t.Errorf("after panic: %d %s", r.code, r.body)
	}
}
