package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawServer accepts connections on 127.0.0.1 and runs serve on each; it
// lets tests answer with exact bytes.
type rawServer struct {
	net.Listener
	requests atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newRawServer(t *testing.T, serve func(s *rawServer, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{Listener: l, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(s, c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close() // idle keep-alive connections of the client
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.Addr().String() + "/v1/models/m:predict" }

// readRequest reads one request and its body; false when the client is gone.
func (s *rawServer) readRequest(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, req.Body)
	if err != nil {
		return false
	}
	s.requests.Add(1)
	return true
}

// cancelWhen calls cancel once cond holds, polled every millisecond, or
// after 30 s (the test then fails on what it finds).
func cancelWhen(cancel context.CancelFunc, cond func() bool) {
	go func() {
		defer cancel()
		for end := time.Now().Add(30 * time.Second); !cond() && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}()
}

func targetWith(t *testing.T, url string, opt HTTPOptions, bodies ...string) *HTTPTarget {
	t.Helper()
	list := make([][]byte, len(bodies))
	for i, b := range bodies {
		list[i] = []byte(b)
	}
	src, err := NewBodies(list)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := NewHTTPTarget(url, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	return tgt
}

// clients runs f once with the event-loop client and once with the
// goroutine client: both must behave the same.
func clients(t *testing.T, f func(t *testing.T, opt HTTPOptions)) {
	for _, name := range []string{"eventloop", "goroutine"} {
		t.Run(name, func(t *testing.T) {
			f(t, HTTPOptions{Timeout: 5 * time.Second, GoroutineClient: name == "goroutine"})
		})
	}
}

func TestEventLoopIsDefaultForHTTP(t *testing.T) {
	if tgt := newTarget(t, "http://127.0.0.1:1/x", `{}`); !tgt.useEventLoops() {
		t.Error("plain HTTP target does not use event loops")
	}
	if tgt := newTarget(t, "https://127.0.0.1:1/x", `{}`); tgt.useEventLoops() {
		t.Error("HTTPS target uses event loops, which have no TLS")
	}
	tgt := targetWith(t, "http://127.0.0.1:1/x", HTTPOptions{GoroutineClient: true}, `{}`)
	if tgt.useEventLoops() {
		t.Error("GoroutineClient ignored")
	}
	if _, err := NewHTTPTarget("http://127.0.0.1:1/x", mustBodies(t), HTTPOptions{EventLoops: -1}); err == nil {
		t.Error("negative event loops accepted")
	}
}

func mustBodies(t *testing.T) *Bodies {
	b, err := NewBodies([][]byte{[]byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodedRequestIsWhatServerReads checks the pre-encoded request: the
// server must read the method, path, headers and body the goroutine client
// sends.
func TestEncodedRequestIsWhatServerReads(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		got <- req
		bodies <- string(b)
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	})
	hdr := http.Header{"X-Trace": {"abc"}}
	tgt := targetWith(t, srv.url()+"?q=1", HTTPOptions{Header: hdr}, `{"instances": [1.0]}`)
	res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 1, MaxRequests: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Successes != 1 {
		t.Fatalf("result %+v", res)
	}
	req := <-got
	if req.Method != "POST" || req.URL.RequestURI() != "/v1/models/m:predict?q=1" || req.Host != srv.Addr().String() {
		t.Errorf("request line/host: %s %s host %s", req.Method, req.URL.RequestURI(), req.Host)
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-Trace") != "abc" || req.ContentLength != 20 {
		t.Errorf("headers %v, content length %d", req.Header, req.ContentLength)
	}
	if b := <-bodies; b != `{"instances": [1.0]}` {
		t.Errorf("body %q", b)
	}
}

// TestFramings answers requests in turn with every way HTTP/1.1 delimits a
// response; each must count as one answered request with its status.
func TestFramings(t *testing.T) {
	big := strings.Repeat("x", 300<<10)
	answers := []func(c net.Conn) (closeAfter bool){
		func(c net.Conn) bool { // content length
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
			return false
		},
		func(c net.Conn) bool { // chunked, with an extension and a trailer
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n")
			return false
		},
		func(c net.Conn) bool { // interim 100 Continue, then the answer
			fmt.Fprint(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nnope")
			return false
		},
		func(c net.Conn) bool { // no body
			fmt.Fprint(c, "HTTP/1.1 204 No Content\r\n\r\n")
			return false
		},
		func(c net.Conn) bool { // large body, in pieces
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(big))
			for i := 0; i < len(big); i += 50 << 10 {
				io.WriteString(c, big[i:min(i+50<<10, len(big))])
				time.Sleep(time.Millisecond)
			}
			return false
		},
		func(c net.Conn) bool { // server asks to close after answering
			fmt.Fprint(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy")
			return true
		},
		func(c net.Conn) bool { // body delimited by the close
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
			return true
		},
	}
	clients(t, func(t *testing.T, opt HTTPOptions) {
		var next atomic.Int64
		srv := newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
			for s.readRequest(br) {
				if answers[(next.Add(1)-1)%int64(len(answers))](c) {
					return
				}
			}
		})
		tgt := targetWith(t, srv.url(), opt, `{}`)
		n := int64(3 * len(answers))
		res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 1, MaxRequests: n})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"200": 12, "204": 3, "400": 3, "503": 3}
		if res.Requests != n || fmt.Sprint(res.StatusCodes) != fmt.Sprint(want) || len(res.Errors) != 2 {
			t.Errorf("requests %d statuses %v errors %v; want %d, %v and only 400/503", res.Requests, res.StatusCodes, res.Errors, n, want)
		}
		if srv.requests.Load() != n {
			t.Errorf("server read %d requests, want %d", srv.requests.Load(), n)
		}
	})
}

// TestTimeoutAndRecovery: the server never answers every third request; the
// stalled requests count as timeouts and the run goes on.
func TestTimeoutAndRecovery(t *testing.T) {
	clients(t, func(t *testing.T, opt HTTPOptions) {
		var n atomic.Int64
		srv := newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
			for s.readRequest(br) {
				if n.Add(1)%3 == 0 {
					io.Copy(io.Discard, br) // stall until the client gives up
					return
				}
				fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
			}
		})
		// Long enough that a loaded machine still answers the other
		// requests within it (150 ms was not always).
		opt.Timeout = 500 * time.Millisecond
		tgt := targetWith(t, srv.url(), opt, `{}`)
		start := time.Now()
		res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 2, MaxRequests: 12})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 12 || res.Successes != 8 || res.Errors["timeout"] != 4 {
			t.Errorf("requests %d successes %d errors %v; want 12, 8 and 4 timeouts", res.Requests, res.Successes, res.Errors)
		}
		if res.LatencyMS.Max < 500 {
			t.Errorf("max latency %.1f ms, below the 500 ms timeout", res.LatencyMS.Max)
		}
		// Four stalls of 0.5 s take 1 to 2 s; a run that waited for them
		// past the timeout would not end.
		if el := time.Since(start); el > 15*time.Second {
			t.Errorf("run took %v", el)
		}
	})
}

// TestServerHangsUpAndGarbage: a server that closes without answering, or
// answers with bytes that are not HTTP, costs one failed request each, and
// the slot reconnects.
func TestServerHangsUpAndGarbage(t *testing.T) {
	clients(t, func(t *testing.T, opt HTTPOptions) {
		var n atomic.Int64
		srv := newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
			for s.readRequest(br) {
				switch n.Add(1) % 4 {
				case 1:
					return // hang up
				case 2:
					fmt.Fprint(c, "SMTP ready\r\n\r\n")
					return
				default:
					fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
				}
			}
		})
		tgt := targetWith(t, srv.url(), opt, `{}`)
		res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 1, MaxRequests: 8})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"connection closed": 2, "invalid response": 2}
		if res.Requests != 8 || res.Successes != 4 || fmt.Sprint(res.Errors) != fmt.Sprint(want) {
			t.Errorf("requests %d successes %d errors %v; want 8, 4 and %v", res.Requests, res.Successes, res.Errors, want)
		}
	})
}

// TestCancelStopsStalledRun: canceling the context ends a run whose
// requests would otherwise wait for a long timeout.
func TestCancelStopsStalledRun(t *testing.T) {
	srv := newRawServer(t, func(s *rawServer, c net.Conn, br *bufio.Reader) {
		s.readRequest(br)
		io.Copy(io.Discard, br)
	})
	tgt := targetWith(t, srv.url(), HTTPOptions{Timeout: time.Minute}, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the four requests have reached the server (a fixed
	// 200 ms could pass before a loaded machine had sent them all).
	cancelWhen(cancel, func() bool { return srv.requests.Load() >= 4 })
	start := time.Now()
	res, err := RunClosed(ctx, tgt, Config{Concurrency: 4, Duration: 30 * time.Second})
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("canceled run took %v", el)
	}
	if err != nil {
		t.Fatal(err)
	}
	// The four stalled requests end as canceled, nothing else is sent.
	if res.Requests != 4 || res.Errors["canceled"] != 4 {
		t.Errorf("requests %d errors %v; want 4 canceled", res.Requests, res.Errors)
	}
}

// TestEventLoopConcurrencyAndDuration: many connections over few loops,
// with a duration bound; every slot keeps one request in flight. The
// server counts the connections and the requests it serves at once rather
// than the requests per second, which a loaded machine lowers.
func TestEventLoopConcurrencyAndDuration(t *testing.T) {
	ts := newTestServer(t, 2*time.Millisecond)
	tgt := targetWith(t, ts.predictURL(), HTTPOptions{EventLoops: 3}, `{"a":1}`)
	res, err := RunClosed(context.Background(), tgt, Config{Concurrency: 20, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != ts.count.Load() || res.Successes != res.Requests || len(res.Errors) != 0 {
		t.Errorf("requests %d, server saw %d, successes %d, errors %v", res.Requests, ts.count.Load(), res.Successes, res.Errors)
	}
	// 20 connections each keep a request in flight: the server sees all
	// of them, and more requests at once than there are loops (requests
	// sent one at a time, or one per loop, would not).
	if n := ts.connections(); n != 20 {
		t.Errorf("server saw %d connections, want 20", n)
	}
	if n := ts.inflightMax.Load(); n <= 3 {
		t.Errorf("at most %d requests at the server at once with 20 connections over 3 loops", n)
	}
	t.Logf("%d requests, at most %d at the server at once", res.Requests, ts.inflightMax.Load())
	if res.DurationS < 0.3 || res.DurationS > 10 {
		t.Errorf("duration %.3f s", res.DurationS)
	}
}

func TestChunkedLength(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		ok   bool
		fail bool
	}{
		{"0\r\n\r\n", 5, true, false},
		{"3\r\nabc\r\n0\r\n\r\nNEXT", 13, true, false},
		{"A;x=y\r\n0123456789\r\n0\r\nT: 1\r\n\r\n", 30, true, false},
		{"3\r\nab", 0, false, false},
		{"3\r\nabc\r\n0\r\n", 0, false, false},
		{"zz\r\n", 0, false, true},
		{"3\r\nabcde\r\n", 0, false, true},
	} {
		n, ok, err := chunkedLength([]byte(c.in))
		if n != c.n || ok != c.ok || (err != nil) != c.fail {
			t.Errorf("chunkedLength(%q) = %d, %v, %v; want %d, %v, error %v", c.in, n, ok, err, c.n, c.ok, c.fail)
		}
	}
}

// FuzzChunkedLength: a length it accepts is within the input and is a
// chunked body that net/http's reader reads to its end.
func FuzzChunkedLength(f *testing.F) {
	for _, s := range []string{"0\r\n\r\n", "3\r\nabc\r\n0\r\n\r\n", "A;x=y\r\n0123456789\r\n0\r\nT: 1\r\n\r\n", "3\r\nab", "ffffffff\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok, err := chunkedLength(b)
		if err != nil || !ok {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d for %d bytes", n, len(b))
		}
		if _, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(b[:n]))); err != nil {
			// net/http stops at the last chunk and leaves trailers to its
			// caller; anything else it rejects must not have been accepted.
			t.Fatalf("accepted %q, net/http: %v", b[:n], err)
		}
	})
}

// FuzzFrame: any bytes from a server are framed without panicking, and a
// complete frame never claims bytes of a chunked body it has not seen.
func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newExchange()
		n, status, _, err := s.frame(b)
		if err != nil || n == 0 {
			return
		}
		if n < 0 || (status >= 100 && status < 200 && n > len(b)) {
			t.Fatalf("frame length %d status %d for %d bytes", n, status, len(b))
		}
		if s.hdr.ContentLength() == -1 && n > len(b) {
			t.Fatalf("chunked frame length %d beyond %d bytes", n, len(b))
		}
	})
}
