package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"
)

// Runs over plain HTTP, closed loop (closedloop.go) and open loop
// (openloop.go), go through gnet event loops, the way wrk and wrk2 run: a
// few threads, each polling many keep-alive connections with at most one
// request in flight on each. A goroutine per connection (fasthttp's client)
// costs about 1.3–1.8× wrk's CPU per request on a small machine, which it
// takes from the server it measures when they share cores; the event loops
// cost about what wrk costs (BENCHMARKS.md, "Load tester against wrk").
//
// This file holds what both loops share: requests are encoded once
// (fasthttp writes them); responses are framed from the connection's
// inbound buffer with fasthttp's header parser and the body is skipped,
// never copied ([exchange]); a watchdog times requests out.

// DefaultEventLoops is the number of event loops (OS threads) that drive an
// HTTP run unless HTTPOptions.EventLoops says otherwise; wrk's default
// thread count is the same.
const DefaultEventLoops = 2

// maxResponseHeader bounds a response header; a server that sends more is
// reported as a protocol error.
const maxResponseHeader = 1 << 20

var headerEnd = []byte("\r\n\r\n")

// exchange is the HTTP/1.1 state of one keep-alive connection with at most
// one request in flight. conn and since are read by the watchdog; the other
// fields are owned by the connection's event loop while a connection is
// open, and by whoever dials the next one while none is.
type exchange struct {
	conn atomic.Pointer[gnet.Conn] // nil while no connection is open
	// since is the in-flight request's actual send time in Unix
	// nanoseconds, 0 when none is in flight; timeouts count from it.
	since atomic.Int64

	inflight   bool
	untilClose bool // the response body runs until the server closes
	remaining  int  // bytes of the current body still to skip
	status     int
	connClose  bool
	timedOut   bool
	// t0 is the latency origin: the actual send in closed loop, the
	// scheduled send in open loop.
	t0  time.Time
	hdr fasthttp.ResponseHeader
	rd  bytes.Reader
	br  *bufio.Reader
}

func newExchange() exchange { return exchange{br: bufio.NewReaderSize(nil, 4096)} }

// useEventLoops reports whether HTTP runs of t go through event loops:
// plain-HTTP targets unless the goroutine client was asked for.
func (t *HTTPTarget) useEventLoops() bool {
	return !t.goroutineClient && !t.fast.IsTLS
}

// encodeRequests serializes one full HTTP/1.1 request per body with
// fasthttp's writer, from the same template the goroutine client uses.
func (t *HTTPTarget) encodeRequests() error {
	t.encoded = make([][]byte, t.bodies.Len())
	for i, body := range t.bodies.list {
		var req fasthttp.Request
		t.tmpl.CopyTo(&req)
		req.Header.SetUserAgent("tfserve-loadtest")
		req.SetBodyRaw(body)
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		if err := req.Write(w); err != nil {
			return fmt.Errorf("encode request %d: %w", i, err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("encode request %d: %w", i, err)
		}
		t.encoded[i] = b.Bytes()
	}
	return nil
}

// nextRequest returns the next encoded request in the bodies' round-robin
// order.
func (t *HTTPTarget) nextRequest() []byte {
	return t.encoded[t.bodies.nextIndex()]
}

// startClient starts loops gnet event loops driving eng's connections.
func startClient(eng gnet.EventHandler, loops int) (*gnet.Client, error) {
	cli, err := gnet.NewClient(eng,
		gnet.WithNumEventLoop(loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{}),
	)
	if err == nil {
		err = cli.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("start event loops: %w", err)
	}
	return cli, nil
}

// stopClient stops the event loops, closing what connections remain.
func stopClient(cli *gnet.Client) {
	if err := cli.Stop(); err != nil {
		slog.Debug("loadtest: stop event loops", "err", err)
	}
}

// begin starts a request sent at now whose latency counts from t0.
func (x *exchange) begin(t0, now time.Time) {
	x.inflight, x.untilClose, x.timedOut = true, false, false
	x.remaining, x.connClose = 0, false
	x.t0 = t0
	x.since.Store(now.UnixNano())
}

// settle ends the in-flight request at now and returns its latency.
func (x *exchange) settle(now time.Time) time.Duration {
	x.inflight = false
	x.since.Store(0)
	return now.Sub(x.t0)
}

// readResponse consumes the in-flight response's bytes from c's inbound
// buffer. It reports answered once the response is complete (its status in
// x.status; x.connClose says whether the server asked to close), and a
// non-empty protoErr when the connection must be closed. A body with a
// known length is skipped as it arrives, so large responses are never held
// whole.
func (x *exchange) readResponse(c gnet.Conn) (answered bool, protoErr string) {
	for {
		buf, _ := c.Peek(-1)
		if len(buf) == 0 {
			return false, ""
		}
		switch {
		case !x.inflight:
			return false, "protocol error: data with no request in flight"
		case x.untilClose:
			_, _ = c.Discard(len(buf))
			return false, ""
		case x.remaining > 0:
			k := min(x.remaining, len(buf))
			_, _ = c.Discard(k)
			x.remaining -= k
			return x.remaining == 0, ""
		}
		n, status, connClose, err := x.frame(buf)
		if err != nil {
			return false, "protocol error: " + err.Error()
		}
		if n == 0 {
			return false, "" // incomplete
		}
		k := min(n, len(buf))
		_, _ = c.Discard(k)
		if status < 200 && status != fasthttp.StatusSwitchingProtocols {
			continue // an interim 1xx answer; the final one follows
		}
		x.status, x.connClose = status, connClose
		if x.untilClose {
			return false, ""
		}
		x.remaining = n - k
		return x.remaining == 0, ""
	}
}

// closeOutcome says how a connection's close, with err, ends its in-flight
// request: answered (a body delimited by the close) with x.status, or
// failed with a transport error. inflight is false when none was in flight.
func (x *exchange) closeOutcome(canceled bool, err error) (inflight, answered bool, msg string) {
	switch {
	case !x.inflight:
		return false, false, ""
	case x.untilClose:
		return true, true, ""
	case x.timedOut:
		return true, false, "timeout"
	case canceled:
		return true, false, "context canceled"
	case err != nil && !errors.Is(err, io.EOF):
		return true, false, errText(err)
	}
	return true, false, "server closed connection"
}

// frame parses the response header at the start of buf. It returns the
// response's full length (0 while the header, or a chunked body, is
// incomplete; a length-delimited body may still be arriving), its status
// and whether the server asked to close. A body delimited by the
// connection's end sets x.untilClose and counts only the header.
func (x *exchange) frame(buf []byte) (n, status int, connClose bool, err error) {
	i := bytes.Index(buf, headerEnd)
	if i < 0 {
		if len(buf) > maxResponseHeader {
			return 0, 0, false, fmt.Errorf("response header over %d bytes", maxResponseHeader)
		}
		return 0, 0, false, nil
	}
	hlen := i + len(headerEnd)
	x.rd.Reset(buf[:hlen])
	if x.br.Size() < hlen {
		x.br = bufio.NewReaderSize(&x.rd, hlen)
	} else {
		x.br.Reset(&x.rd)
	}
	if err := x.hdr.Read(x.br); err != nil {
		return 0, 0, false, fmt.Errorf("response header: %w", err)
	}
	status = x.hdr.StatusCode()
	if status < 200 && status != fasthttp.StatusSwitchingProtocols {
		return hlen, status, false, nil
	}
	if status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified {
		return hlen, status, x.hdr.ConnectionClose(), nil // never a body
	}
	switch cl := x.hdr.ContentLength(); {
	case cl >= 0:
		return hlen + cl, status, x.hdr.ConnectionClose(), nil
	case cl == -1: // chunked
		blen, ok, err := chunkedLength(buf[hlen:])
		if err != nil || !ok {
			return 0, 0, false, err
		}
		return hlen + blen, status, x.hdr.ConnectionClose(), nil
	default: // identity: the body ends with the connection
		x.untilClose = true
		return hlen, status, true, nil
	}
}

// chunkedLength returns the length of a complete chunked body (trailers
// included) at the start of b, or ok=false while it is incomplete.
func chunkedLength(b []byte) (n int, ok bool, err error) {
	for {
		line := bytes.Index(b[n:], []byte("\r\n"))
		if line < 0 {
			return 0, false, nil
		}
		if line > 4096 || bytes.ContainsAny(b[n:n+line], "\r\n") {
			return 0, false, errors.New("malformed chunk size line")
		}
		// As net/http reads it: trailing blanks, then an extension, go.
		sizeText, _, _ := bytes.Cut(bytes.TrimRight(b[n:n+line], " \t"), []byte(";"))
		if len(sizeText) > 16 {
			return 0, false, errors.New("chunk size too long")
		}
		size, perr := strconv.ParseUint(string(sizeText), 16, 31)
		if perr != nil {
			return 0, false, fmt.Errorf("chunk size %q", sizeText)
		}
		n += line + 2
		if size == 0 {
			// Trailer lines up to an empty line.
			for {
				end := bytes.Index(b[n:], []byte("\r\n"))
				if end < 0 {
					return 0, false, nil
				}
				n += end + 2
				if end == 0 {
					return n, true, nil
				}
			}
		}
		if len(b) < n+int(size)+2 {
			return 0, false, nil
		}
		if !bytes.Equal(b[n+int(size):n+int(size)+2], []byte("\r\n")) {
			return 0, false, errors.New("chunk not followed by CRLF")
		}
		n += int(size) + 2
	}
}

// watchdog times out requests in flight longer than timeout on the
// exchanges list returns, and when ctx is canceled calls canceled and
// closes every connection. Closing a connection from its own event loop
// keeps the check and the close atomic with respect to responses.
func watchdog(ctx context.Context, timeout time.Duration, list func() []*exchange, canceled func()) (stop func()) {
	every := min(max(timeout/20, 5*time.Millisecond), 100*time.Millisecond)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		done := ctx.Done()
		for {
			select {
			case <-quit:
				return
			case <-done:
				done = nil
				canceled()
				closeWhere(list(), func(*exchange) bool { return true }, 0)
			case now := <-tick.C:
				limit := now.Add(-timeout).UnixNano()
				closeWhere(list(), func(x *exchange) bool {
					since := x.since.Load()
					return since != 0 && since <= limit
				}, timeout)
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

// closeWhere closes, on their event loops, the connections of the exchanges
// that match. With timeout > 0 it marks their in-flight requests as timed
// out, when they are still past the timeout at the moment of the close.
func closeWhere(xs []*exchange, match func(*exchange) bool, timeout time.Duration) {
	for _, x := range xs {
		cp := x.conn.Load()
		if cp == nil || !match(x) {
			continue
		}
		c := *cp
		_ = c.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			if x.conn.Load() != cp {
				return nil // closed or replaced meanwhile
			}
			if timeout > 0 {
				since := x.since.Load()
				if !x.inflight || since == 0 || time.Since(time.Unix(0, since)) < timeout {
					return nil
				}
				x.timedOut = true
			}
			return c.EventLoop().Close(c)
		}))
	}
}

// statusText is the errors/status map key for an HTTP status.
func statusText(code int) string {
	if code == fasthttp.StatusOK {
		return "200"
	}
	return strconv.Itoa(code)
}

// gnetLogger routes gnet's warnings and errors to slog and drops its
// informational lines.
type gnetLogger struct{}

func (gnetLogger) Debugf(string, ...any) {}
func (gnetLogger) Infof(string, ...any)  {}
func (gnetLogger) Warnf(format string, args ...any) {
	slog.Warn("loadtest: gnet: " + fmt.Sprintf(format, args...))
}
func (gnetLogger) Errorf(format string, args ...any) {
	slog.Error("loadtest: gnet: " + fmt.Sprintf(format, args...))
}
func (gnetLogger) Fatalf(format string, args ...any) {
	slog.Error("loadtest: gnet: " + fmt.Sprintf(format, args...))
}
