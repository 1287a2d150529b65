package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/fasthttp"
)

// The closed loop over plain HTTP runs on gnet event loops, the way wrk
// runs: a few threads, each polling many keep-alive connections and sending
// the next request from the callback that reads the last response. A
// goroutine per connection (fasthttp's client) costs about 1.3–1.8× wrk's
// CPU per request on a small machine, which it takes from the server it
// measures when they share cores; the event loops cost about what wrk costs
// (BENCHMARKS.md, "Load tester against wrk").
//
// Requests are encoded once (fasthttp writes them); responses are framed
// from the connection's inbound buffer with fasthttp's header parser and
// the body is skipped, never copied.

// DefaultEventLoops is the number of event loops (OS threads) that drive a
// closed-loop HTTP run unless HTTPOptions.EventLoops says otherwise; wrk's
// default thread count is the same.
const DefaultEventLoops = 2

// maxResponseHeader bounds a response header; a server that sends more is
// reported as a protocol error.
const maxResponseHeader = 1 << 20

var headerEnd = []byte("\r\n\r\n")

// loopPhase is one closed-loop phase on event loops: Concurrency slots, each
// owning at most one connection with at most one request in flight.
type loopPhase struct {
	gnet.BuiltinEventEngine

	target     *HTTPTarget
	ctx        context.Context
	deadline   time.Time
	du         time.Duration
	maxReq     int64
	claimed    atomic.Int64
	atLeastOne bool
	stopped    atomic.Bool // context canceled: send nothing more
	active     atomic.Int64
	done       chan struct{}
	client     *gnet.Client
	slots      []*slot
}

// slot is one closed-loop worker. Its fields below conn are owned by the
// event loop while a connection is open, and by the dialing goroutine while
// none is; the hand-over goes through gnet's registration or a go statement.
type slot struct {
	ph   *loopPhase
	rec  *recorder
	conn atomic.Pointer[gnet.Conn] // for the watchdog
	// since is the in-flight request's start in Unix nanoseconds, 0 when
	// none is in flight; the watchdog reads it.
	since atomic.Int64
	// done is set once the slot has finished for this phase.
	done atomic.Bool

	sent       int64
	inflight   bool
	untilClose bool // the response body runs until the server closes
	remaining  int  // bytes of the current body still to skip
	status     int
	connClose  bool
	timedOut   bool
	t0         time.Time
	hdr        fasthttp.ResponseHeader
	rd         bytes.Reader
	br         *bufio.Reader
}

// useEventLoops reports whether closed-loop runs of t go through event
// loops: plain-HTTP targets unless the goroutine client was asked for.
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

// loopClosedPhase runs one closed-loop phase of an HTTP target on event
// loops and returns the slots' recorders and the phase's wall time. It
// fails, having sent nothing, only when the event loops cannot start.
func loopClosedPhase(ctx context.Context, t *HTTPTarget, cfg Config, live *liveCounts, start time.Time, du time.Duration, maxReq int64, atLeastOne bool) ([]*recorder, time.Duration, error) {
	ph := &loopPhase{
		target:     t,
		ctx:        ctx,
		deadline:   start.Add(du),
		du:         du,
		maxReq:     maxReq,
		atLeastOne: atLeastOne,
		done:       make(chan struct{}),
		slots:      make([]*slot, cfg.Concurrency),
	}
	recs := make([]*recorder, cfg.Concurrency)
	for i := range ph.slots {
		recs[i] = newRecorder(live)
		ph.slots[i] = &slot{ph: ph, rec: recs[i], br: bufio.NewReaderSize(nil, 4096)}
	}
	loops := min(t.eventLoops, cfg.Concurrency)
	cli, err := gnet.NewClient(ph,
		gnet.WithNumEventLoop(loops),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithLogger(gnetLogger{}),
	)
	if err == nil {
		err = cli.Start()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("start event loops: %w", err)
	}
	ph.client = cli
	ph.active.Store(int64(len(ph.slots)))
	for _, s := range ph.slots {
		go s.connect()
	}
	stopWatch := ph.watch()
	<-ph.done
	elapsed := time.Since(start)
	stopWatch()
	if err := cli.Stop(); err != nil {
		slog.Debug("loadtest: stop event loops", "err", err)
	}
	return recs, elapsed, nil
}

// claim decides, at now, whether s sends one more request.
func (ph *loopPhase) claim(s *slot, now time.Time) bool {
	if ph.stopped.Load() || ph.ctx.Err() != nil {
		return false
	}
	if ph.du > 0 && !(ph.atLeastOne && s.sent == 0) && !now.Before(ph.deadline) {
		return false
	}
	if ph.maxReq > 0 && ph.claimed.Add(1) > ph.maxReq {
		return false
	}
	s.sent++
	return true
}

// finish marks s as done for the phase; the last one ends the phase.
func (s *slot) finish() {
	if s.done.Swap(true) {
		return
	}
	if s.ph.active.Add(-1) == 0 {
		close(s.ph.done)
	}
}

// connect dials a connection for s, which then sends its first request
// from OnOpen. A failed dial counts as a failed request, as it does for
// the goroutine client.
func (s *slot) connect() {
	ph := s.ph
	d := net.Dialer{Timeout: ph.target.timeout}
	for {
		if !ph.claim(s, time.Now()) {
			s.finish()
			return
		}
		t0 := time.Now()
		nc, err := d.DialContext(ph.ctx, "tcp", ph.target.fast.Addr)
		if err == nil {
			if _, err = ph.client.EnrollContext(nc, s); err == nil {
				return
			}
		}
		s.rec.add(time.Since(t0), "", errText(err))
	}
}

// OnOpen sends the slot's first request on a new connection.
func (ph *loopPhase) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	s := c.Context().(*slot)
	s.conn.Store(&c)
	s.begin(time.Now())
	return ph.target.nextRequest(), gnet.None
}

func (s *slot) begin(now time.Time) {
	s.inflight, s.untilClose, s.timedOut = true, false, false
	s.remaining, s.connClose = 0, false
	s.t0 = now
	s.since.Store(now.UnixNano())
}

// OnTraffic frames the response in the inbound buffer, records it and sends
// the next request on the same connection. A body with a known length is
// skipped as it arrives, so large responses are never held whole.
func (ph *loopPhase) OnTraffic(c gnet.Conn) gnet.Action {
	s := c.Context().(*slot)
	for {
		buf, _ := c.Peek(-1)
		if len(buf) == 0 {
			return gnet.None
		}
		switch {
		case !s.inflight:
			s.fail("protocol error: data with no request in flight")
			return gnet.Close
		case s.untilClose:
			_, _ = c.Discard(len(buf))
			return gnet.None
		case s.remaining > 0:
			k := min(s.remaining, len(buf))
			_, _ = c.Discard(k)
			if s.remaining -= k; s.remaining > 0 {
				return gnet.None
			}
		default:
			n, status, connClose, err := s.frame(buf)
			if err != nil {
				s.fail("protocol error: " + err.Error())
				return gnet.Close
			}
			if n == 0 {
				return gnet.None // incomplete
			}
			k := min(n, len(buf))
			_, _ = c.Discard(k)
			if status < 200 && status != fasthttp.StatusSwitchingProtocols {
				continue // an interim 1xx answer; the final one follows
			}
			s.status, s.connClose = status, connClose
			if s.untilClose {
				return gnet.None
			}
			if s.remaining = n - k; s.remaining > 0 {
				return gnet.None
			}
		}
		now := time.Now()
		s.complete(now, s.status)
		if s.connClose {
			return gnet.Close // OnClose dials again
		}
		if !ph.claim(s, now) {
			s.finish()
			return gnet.Close
		}
		s.begin(now)
		if _, err := c.Write(ph.target.nextRequest()); err != nil {
			s.fail(errText(err))
			return gnet.Close
		}
	}
}

// frame parses the response header at the start of buf. It returns the
// response's full length (0 while the header, or a chunked body, is
// incomplete; a length-delimited body may still be arriving), its status
// and whether the server asked to close. A body delimited by the
// connection's end sets s.untilClose and counts only the header.
func (s *slot) frame(buf []byte) (n, status int, connClose bool, err error) {
	i := bytes.Index(buf, headerEnd)
	if i < 0 {
		if len(buf) > maxResponseHeader {
			return 0, 0, false, fmt.Errorf("response header over %d bytes", maxResponseHeader)
		}
		return 0, 0, false, nil
	}
	hlen := i + len(headerEnd)
	s.rd.Reset(buf[:hlen])
	if s.br.Size() < hlen {
		s.br = bufio.NewReaderSize(&s.rd, hlen)
	} else {
		s.br.Reset(&s.rd)
	}
	if err := s.hdr.Read(s.br); err != nil {
		return 0, 0, false, fmt.Errorf("response header: %w", err)
	}
	status = s.hdr.StatusCode()
	if status < 200 && status != fasthttp.StatusSwitchingProtocols {
		return hlen, status, false, nil
	}
	if status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified {
		return hlen, status, s.hdr.ConnectionClose(), nil // never a body
	}
	switch cl := s.hdr.ContentLength(); {
	case cl >= 0:
		return hlen + cl, status, s.hdr.ConnectionClose(), nil
	case cl == -1: // chunked
		blen, ok, err := chunkedLength(buf[hlen:])
		if err != nil || !ok {
			return 0, 0, false, err
		}
		return hlen + blen, status, s.hdr.ConnectionClose(), nil
	default: // identity: the body ends with the connection
		s.untilClose = true
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

// complete records the in-flight request as answered with status.
func (s *slot) complete(now time.Time, status int) {
	s.inflight = false
	s.since.Store(0)
	s.rec.add(now.Sub(s.t0), statusText(status), "")
}

// fail records the in-flight request, if any, as a transport error.
func (s *slot) fail(msg string) {
	if !s.inflight {
		return
	}
	s.inflight = false
	s.since.Store(0)
	s.rec.add(time.Since(s.t0), "", msg)
}

// OnClose records a request cut off by the close and, unless the slot is
// done, dials again.
func (ph *loopPhase) OnClose(c gnet.Conn, err error) gnet.Action {
	s := c.Context().(*slot)
	s.conn.Store(nil)
	switch {
	case s.inflight && s.untilClose:
		s.complete(time.Now(), s.status)
	case s.inflight && s.timedOut:
		s.fail("timeout")
	case s.inflight && ph.ctx.Err() != nil:
		s.fail("context canceled")
	case s.inflight && err != nil && !errors.Is(err, io.EOF):
		s.fail(errText(err))
	case s.inflight:
		s.fail("server closed connection")
	}
	if !s.done.Load() {
		go s.connect()
	}
	return gnet.None
}

// watch starts the watchdog that times out requests and stops the phase
// when ctx is canceled. Closing a connection from its own event loop keeps
// the check and the close atomic with respect to responses.
func (ph *loopPhase) watch() (stop func()) {
	timeout := ph.target.timeout
	every := min(max(timeout/20, 5*time.Millisecond), 100*time.Millisecond)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		canceled := ph.ctx.Done()
		for {
			select {
			case <-quit:
				return
			case <-canceled:
				canceled = nil
				ph.stopped.Store(true)
				ph.closeWhere(func(*slot) bool { return true }, false)
			case now := <-tick.C:
				limit := now.Add(-timeout).UnixNano()
				ph.closeWhere(func(s *slot) bool {
					since := s.since.Load()
					return since != 0 && since <= limit
				}, true)
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

// closeWhere closes, on their event loops, the connections of slots that
// match; timedOut marks their in-flight requests as timed out when they are
// still past the timeout at the moment of the close.
func (ph *loopPhase) closeWhere(match func(*slot) bool, timedOut bool) {
	for _, s := range ph.slots {
		cp := s.conn.Load()
		if cp == nil || !match(s) {
			continue
		}
		c := *cp
		_ = c.EventLoop().Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			if p := s.conn.Load(); p == nil || *p != c {
				return nil // closed or replaced meanwhile
			}
			if timedOut {
				if !s.inflight || time.Since(s.t0) < ph.target.timeout {
					return nil
				}
				s.timedOut = true
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
