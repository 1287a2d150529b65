package loadtest

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The open loop over plain HTTP runs on event loops (eventloop.go), the way
// wrk2 runs. Hit k is due at start+(k+1)*interval. Due hits go to idle
// keep-alive connections, one request in flight per connection (no
// pipelining). An event loop hands them out itself whenever it runs: a
// connection that has read its response takes the next due hit, and the
// loop's idle connections take the others. A pacer goroutine wakes at most
// every millisecond to wake a loop that has idle connections while hits
// are due, and to dial more connections while none is idle, up to a cap;
// past the cap, due hits wait client-side. Waking a loop from another
// thread costs more than a request, so at high rates the loops, woken by
// responses, do most of the pacing.
//
// Latency counts from the scheduled time, so a backlog shows in the
// percentiles. When the duration ends, hits not yet sent are dropped
// (Result.Scheduled minus Result.Requests). A connection the server closes
// is replaced.

// DefaultMaxConns bounds the connections of an open-loop run on event loops
// unless Config.MaxInFlight says otherwise. Past a server's capacity every
// connection is busy and a backlog grows, so the cap is reached; 512 is
// well above what tfserve admits before it sheds (--admission_max_queue
// 128 plus the requests running), so the overload reaches the server,
// while on one core 512 connections offer ~70k requests/s where 10000
// (dialing and polling them) offer ~20k (BENCHMARKS.md).
const DefaultMaxConns = 512

// The pacer sleeps until the next hit is due, but at least pacerMinSleep
// (so that it wakes loops for batches of hits at high rates) and at most
// pacerMaxSleep.
const (
	pacerMinSleep = 200 * time.Microsecond
	pacerMaxSleep = time.Millisecond
)

// maxDialing bounds the connections the pacer dials at once. A backlog
// of due hits grows the connection count this many at a time, not all at
// once: dialing costs far more than a request, and a load generator that
// falls behind for a moment would otherwise spend the next moments dialing
// thousands of connections it then does not need.
const maxDialing = 8

// openLoop is one open-loop phase on event loops.
type openLoop struct {
	gnet.BuiltinEventEngine

	target   *HTTPTarget
	ctx      context.Context
	client   *gnet.Client
	start    time.Time
	step     time.Duration
	total    int64     // hits scheduled
	deadline time.Time // zero: none (a request count only)
	maxConns int
	done     chan struct{}

	mu       sync.Mutex
	rec      *recorder
	last     time.Time // the latest completion
	due      int64     // hits due so far
	next     int64     // the next hit to send
	closed   bool      // no more hits are sent
	finished bool      // done is closed
	busy     int       // slots with a request in flight
	dialing  int       // slots dialing
	idle     int       // slots with an open connection and nothing to send
	loops    map[gnet.EventLoop]*loopState
	free     []*conn // slots without a connection
	slots    []*conn // all of them, at most maxConns
}

// loopState is one event loop's share of an open-loop phase.
type loopState struct {
	el      gnet.EventLoop
	idle    []*conn // under openLoop.mu
	kicking bool    // a pacer's wake-up is queued; under openLoop.mu
	out     []send  // hits to write; owned by the loop
}

// send is a hit handed to a connection, to write from its event loop.
type send struct {
	c   *conn
	hit int64
}

// conn is one open-loop connection slot, reused when its connection is
// replaced.
type conn struct {
	exchange
	ls     *loopState // the loop of its connection
	idleAt int        // index in ls.idle, -1 when not idle
}

// loopOpenPhase runs one open-loop phase of an HTTP target on event loops
// and returns its recorder and the time from start to the last completion.
// It fails, having sent nothing, only when the event loops cannot start.
func loopOpenPhase(ctx context.Context, t *HTTPTarget, cfg Config, live *liveCounts, step, du time.Duration, total int64) (*recorder, time.Duration, error) {
	ol := &openLoop{
		target:   t,
		ctx:      ctx,
		step:     step,
		total:    total,
		maxConns: cfg.MaxInFlight,
		done:     make(chan struct{}),
		rec:      newRecorder(live),
		loops:    map[gnet.EventLoop]*loopState{},
	}
	if ol.maxConns <= 0 {
		ol.maxConns = DefaultMaxConns
	}
	cli, err := startClient(ol, t.eventLoops)
	if err != nil {
		return nil, 0, err
	}
	ol.client = cli
	ol.start = time.Now()
	if du > 0 {
		ol.deadline = ol.start.Add(du)
	}
	stopWatch := watchdog(ctx, t.timeout, ol.exchanges, ol.cancel)
	go ol.pace()
	<-ol.done
	stopWatch()
	stopClient(cli)
	ol.mu.Lock()
	defer ol.mu.Unlock()
	var elapsed time.Duration
	if !ol.last.IsZero() {
		elapsed = ol.last.Sub(ol.start)
	}
	return ol.rec, elapsed, nil
}

// dueAt is when hit k is due.
func (ol *openLoop) dueAt(k int64) time.Time {
	return ol.start.Add(time.Duration(k+1) * ol.step)
}

// advance counts the hits due at now. ol.mu is held.
func (ol *openLoop) advance(now time.Time) {
	ol.due = max(ol.due, min(int64(now.Sub(ol.start)/ol.step), ol.total))
}

// backlog is the number of due hits not yet sent. ol.mu is held.
func (ol *openLoop) backlog() int64 { return ol.due - ol.next }

// pace wakes loops and dials connections until the phase closes.
func (ol *openLoop) pace() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ol.done:
			return
		}
		now := time.Now()
		nextDue, open := ol.tick(now)
		if !open {
			return
		}
		timer.Reset(min(max(nextDue.Sub(now), pacerMinSleep), pacerMaxSleep))
	}
}

// tick wakes the loops that have idle connections while hits are due and
// dials connections while none is idle. At the deadline it lets the loops
// send what is due, then closes the phase. It returns when the next hit
// falls due, and false once the phase has closed.
func (ol *openLoop) tick(now time.Time) (time.Time, bool) {
	ol.mu.Lock()
	if ol.closed {
		ol.mu.Unlock()
		return time.Time{}, false
	}
	ol.advance(now)
	final := !ol.deadline.IsZero() && !now.Before(ol.deadline)
	var kicks []*loopState
	for _, ls := range ol.loops {
		if len(ls.idle) > 0 && (ol.backlog() > 0 || final) && (!ls.kicking || final) {
			ls.kicking = true
			kicks = append(kicks, ls)
		}
	}
	var dials []*conn
	if ol.idle == 0 && !final {
		for n := min(ol.backlog(), maxDialing) - int64(ol.dialing); n > 0; n-- {
			c := ol.freeSlot()
			if c == nil {
				break
			}
			ol.dialing++
			dials = append(dials, c)
		}
	}
	if ol.next == ol.total {
		ol.closed = true
		ol.checkDone()
	}
	nextDue, open := ol.dueAt(ol.due), !ol.closed
	ol.mu.Unlock()
	for _, c := range dials {
		go ol.dial(c)
	}
	ol.kick(kicks, final)
	if final {
		ol.cancel()
		return time.Time{}, false
	}
	return nextDue, open
}

// kick makes each loop in kicks send due hits on its idle connections;
// with wait it returns once they have.
func (ol *openLoop) kick(kicks []*loopState, wait bool) {
	var wg sync.WaitGroup
	for _, ls := range kicks {
		wg.Add(1)
		err := ls.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			defer wg.Done()
			now := time.Now()
			ol.mu.Lock()
			ls.kicking = false
			ol.pump(ls, now)
			ol.mu.Unlock()
			ol.flush(ls, now)
			return nil
		}))
		if err != nil {
			wg.Done()
		}
	}
	if wait {
		wg.Wait()
	}
}

// pump hands due hits to ls's idle connections, to write with flush. ol.mu
// is held; the caller runs on ls's loop.
func (ol *openLoop) pump(ls *loopState, now time.Time) {
	if ol.closed {
		return
	}
	ol.advance(now)
	for ol.backlog() > 0 && len(ls.idle) > 0 {
		c := ls.idle[len(ls.idle)-1]
		ol.unidle(c)
		ol.busy++
		ls.out = append(ls.out, send{c: c, hit: ol.next})
		ol.next++
	}
}

// flush writes the hits pump handed out. It runs on ls's loop.
func (ol *openLoop) flush(ls *loopState, now time.Time) {
	for _, s := range ls.out {
		s.c.begin(ol.dueAt(s.hit), now)
		// On a write error gnet closes the connection and OnClose records
		// the failure.
		_, _ = (*s.c.conn.Load()).Write(ol.target.nextRequest())
	}
	clear(ls.out)
	ls.out = ls.out[:0]
}

// nextHit hands a connection that just became free the next due hit, or
// marks it idle. ol.mu is held; c counts as busy.
func (ol *openLoop) nextHit(c *conn, now time.Time) (int64, bool) {
	if !ol.closed {
		ol.advance(now)
		if ol.backlog() > 0 {
			ol.next++
			return ol.next - 1, true
		}
	}
	ol.busy--
	ol.idle++
	c.idleAt = len(c.ls.idle)
	c.ls.idle = append(c.ls.idle, c)
	ol.checkDone()
	return 0, false
}

// unidle removes c from its loop's idle list. ol.mu is held.
func (ol *openLoop) unidle(c *conn) {
	i := c.idleAt
	if i < 0 {
		return
	}
	idle := c.ls.idle
	last := len(idle) - 1
	idle[i] = idle[last]
	idle[i].idleAt = i
	idle[last] = nil
	c.ls.idle = idle[:last]
	c.idleAt = -1
	ol.idle--
}

// freeSlot returns a slot without a connection, a new one while under the
// cap, or nil. ol.mu is held.
func (ol *openLoop) freeSlot() *conn {
	if n := len(ol.free); n > 0 {
		c := ol.free[n-1]
		ol.free = ol.free[:n-1]
		return c
	}
	if len(ol.slots) >= ol.maxConns {
		return nil
	}
	c := &conn{exchange: newExchange(), idleAt: -1}
	ol.slots = append(ol.slots, c)
	return c
}

// checkDone ends the phase once it is closed and nothing is in flight or
// dialing. ol.mu is held.
func (ol *openLoop) checkDone() {
	if ol.closed && ol.busy == 0 && ol.dialing == 0 && !ol.finished {
		ol.finished = true
		close(ol.done)
	}
}

// record records one request's outcome. ol.mu is held.
func (ol *openLoop) record(now time.Time, lat time.Duration, status, transportErr string) {
	ol.rec.add(lat, status, transportErr)
	if now.After(ol.last) {
		ol.last = now
	}
}

// dial opens a connection for slot c; it takes a due hit from OnOpen. A
// failed dial fails the earliest due hit, if any, as it would fail a
// request of the goroutine client.
func (ol *openLoop) dial(c *conn) {
	d := net.Dialer{Timeout: ol.target.timeout}
	nc, err := d.DialContext(ol.ctx, "tcp", ol.target.fast.Addr)
	if err == nil {
		if _, err = ol.client.EnrollContext(nc, c); err == nil {
			return
		}
	}
	now := time.Now()
	ol.mu.Lock()
	defer ol.mu.Unlock()
	ol.dialing--
	ol.free = append(ol.free, c)
	if !ol.closed {
		ol.advance(now)
		if ol.backlog() > 0 {
			ol.record(now, now.Sub(ol.dueAt(ol.next)), "", errText(err))
			ol.next++
		}
	}
	ol.checkDone()
}

// OnOpen sends the earliest due hit on a new connection, or leaves it idle.
func (ol *openLoop) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c := gc.Context().(*conn)
	c.conn.Store(&gc)
	now := time.Now()
	ol.mu.Lock()
	ol.dialing--
	if ol.closed {
		ol.checkDone()
		ol.mu.Unlock()
		return nil, gnet.Close
	}
	c.ls = ol.loops[gc.EventLoop()]
	if c.ls == nil {
		c.ls = &loopState{el: gc.EventLoop()}
		ol.loops[gc.EventLoop()] = c.ls
	}
	ol.busy++
	k, ok := ol.nextHit(c, now)
	ol.mu.Unlock()
	if !ok {
		return nil, gnet.None
	}
	c.begin(ol.dueAt(k), now)
	return ol.target.nextRequest(), gnet.None
}

// OnTraffic records each complete response and sends due hits: the next on
// the same connection, the others on the loop's idle connections.
func (ol *openLoop) OnTraffic(gc gnet.Conn) gnet.Action {
	c := gc.Context().(*conn)
	for {
		answered, protoErr := c.readResponse(gc)
		if protoErr != "" {
			ol.fail(c, protoErr)
			return gnet.Close
		}
		if !answered {
			return gnet.None
		}
		now := time.Now()
		sent := c.since.Load()
		lat := c.settle(now)
		ol.mu.Lock()
		ol.record(now, lat, statusText(c.status), "")
		if c.status >= 200 && c.status < 300 {
			ol.rec.addService(now.Sub(time.Unix(0, sent)))
		}
		var k int64
		ok := false
		if c.connClose {
			ol.busy--
			ol.checkDone()
		} else {
			k, ok = ol.nextHit(c, now)
		}
		ol.pump(c.ls, now)
		ol.mu.Unlock()
		ol.flush(c.ls, now)
		if c.connClose {
			return gnet.Close // OnClose replaces it
		}
		if !ok {
			return gnet.None
		}
		c.begin(ol.dueAt(k), now)
		if _, err := gc.Write(ol.target.nextRequest()); err != nil {
			return gnet.Close // gnet has closed it: OnClose recorded the failure
		}
	}
}

// fail records c's in-flight request, if any, as a transport error.
func (ol *openLoop) fail(c *conn, msg string) {
	if !c.inflight {
		return
	}
	now := time.Now()
	lat := c.settle(now)
	ol.mu.Lock()
	defer ol.mu.Unlock()
	ol.record(now, lat, "", msg)
	ol.busy--
	ol.checkDone()
}

// OnClose records a request cut off by the close and, unless the phase
// has closed, replaces the connection.
func (ol *openLoop) OnClose(gc gnet.Conn, err error) gnet.Action {
	c := gc.Context().(*conn)
	c.conn.Store(nil)
	inflight, answered, msg := c.closeOutcome(ol.ctx.Err() != nil, err)
	now := time.Now()
	var lat time.Duration
	if inflight {
		lat = c.settle(now)
	}
	ol.mu.Lock()
	defer ol.mu.Unlock()
	switch {
	case answered:
		ol.record(now, lat, statusText(c.status), "")
	case inflight:
		ol.record(now, lat, "", msg)
	}
	if inflight {
		ol.busy--
	}
	if c.ls != nil {
		ol.unidle(c)
	}
	if ol.closed {
		ol.free = append(ol.free, c)
		ol.checkDone()
		return gnet.None
	}
	ol.dialing++
	go ol.dial(c)
	return gnet.None
}

// cancel closes the phase: nothing more is sent. On a canceled context the
// watchdog then closes every connection.
func (ol *openLoop) cancel() {
	ol.mu.Lock()
	defer ol.mu.Unlock()
	ol.closed = true
	ol.checkDone()
}

// exchanges lists the slots' exchanges for the watchdog.
func (ol *openLoop) exchanges() []*exchange {
	ol.mu.Lock()
	defer ol.mu.Unlock()
	xs := make([]*exchange, len(ol.slots))
	for i, c := range ol.slots {
		xs[i] = &c.exchange
	}
	return xs
}
