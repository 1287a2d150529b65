package loadtest

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// The open loop over plain HTTP runs on event loops (eventloop.go), the way
// wrk2 runs. Hit k is due at start+(k+1)*interval. A pacer goroutine wakes
// at most every millisecond and hands the hits then due to idle keep-alive
// connections, one request in flight per connection (no pipelining); a
// connection that finishes a response takes the next due hit itself. When
// no connection is idle the pacer dials more, up to a cap; past the cap,
// due hits wait client-side. Latency counts from the scheduled time, so
// that backlog shows in the percentiles. When the duration ends, hits not
// yet sent are dropped (Result.Scheduled minus Result.Requests); a
// connection the server closes is replaced.

// DefaultMaxConns bounds the connections of an open-loop run on event loops
// unless Config.MaxInFlight says otherwise.
const DefaultMaxConns = 10000

// The pacer sleeps until the next hit is due, but at least pacerMinSleep
// (so that it hands out hits in batches at high rates) and at most
// pacerMaxSleep.
const (
	pacerMinSleep = 100 * time.Microsecond
	pacerMaxSleep = time.Millisecond
)

// openLoop is one open-loop phase on event loops.
type openLoop struct {
	gnet.BuiltinEventEngine

	target   *HTTPTarget
	ctx      context.Context
	client   *gnet.Client
	start    time.Time
	step     time.Duration
	total    int64     // hits scheduled
	deadline time.Time // no hit is sent from then on; zero: none
	maxConns int
	done     chan struct{}

	mu       sync.Mutex
	rec      *recorder
	last     time.Time // the latest completion
	due      int64     // hits due so far
	next     int64     // the next hit never handed out
	retry    []int64   // hits handed to a connection that closed first
	closed   bool      // no more hits are handed out
	finished bool      // done is closed
	busy     int       // slots with a hit handed out or in flight
	dialing  int       // slots dialing
	idle     []*conn   // slots with an open connection and nothing to send
	free     []*conn   // slots without a connection
	slots    []*conn   // all of them, at most maxConns
}

// conn is one open-loop connection slot, reused when its connection is
// replaced.
type conn struct {
	exchange
	idleAt int // index in openLoop.idle, -1 when not idle
}

// assignment is a hit handed to an idle connection, to be sent from the
// connection's event loop.
type assignment struct {
	c   *conn
	cp  *gnet.Conn // the connection it was idle on
	hit int64
}

// loopOpenPhase runs one open-loop phase of an HTTP target on event loops
// and returns its recorder and the time from start to the last completion.
// It fails, having sent nothing, only when the event loops cannot start.
func loopOpenPhase(ctx context.Context, t *HTTPTarget, cfg Config, live *liveCounts, step time.Duration, du time.Duration, total int64) (*recorder, time.Duration, error) {
	ol := &openLoop{
		target:   t,
		ctx:      ctx,
		step:     step,
		total:    total,
		maxConns: cfg.MaxInFlight,
		done:     make(chan struct{}),
		rec:      newRecorder(live),
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

// pace hands out due hits until the phase closes.
func (ol *openLoop) pace() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		<-timer.C
		now := time.Now()
		nextDue, open := ol.dispatch(now)
		if !open {
			return
		}
		timer.Reset(min(max(nextDue.Sub(now), pacerMinSleep), pacerMaxSleep))
	}
}

// dispatch hands the hits due at now to idle connections and dials more
// for the rest. It returns when the next hit falls due, and false once the
// phase has closed.
func (ol *openLoop) dispatch(now time.Time) (time.Time, bool) {
	ol.mu.Lock()
	if ol.closed {
		ol.mu.Unlock()
		return time.Time{}, false
	}
	ol.due = min(int64(now.Sub(ol.start)/ol.step), ol.total)
	var out []assignment
	for ol.backlog() > 0 && len(ol.idle) > 0 {
		c := ol.idle[len(ol.idle)-1]
		ol.unidle(c)
		ol.busy++
		out = append(out, assignment{c: c, cp: c.conn.Load(), hit: ol.take()})
	}
	var dials []*conn
	for n := ol.backlog() - int64(ol.dialing); n > 0; n-- {
		c := ol.freeSlot()
		if c == nil {
			break
		}
		ol.dialing++
		dials = append(dials, c)
	}
	if (ol.next == ol.total && len(ol.retry) == 0) || (!ol.deadline.IsZero() && !now.Before(ol.deadline)) {
		ol.closed = true
		ol.checkDone()
	}
	nextDue, open := ol.dueAt(ol.due), !ol.closed
	ol.mu.Unlock()
	ol.send(out)
	for _, c := range dials {
		go ol.dial(c)
	}
	return nextDue, open
}

// backlog is the number of due hits not yet handed out. ol.mu is held.
func (ol *openLoop) backlog() int64 { return ol.due - ol.next + int64(len(ol.retry)) }

// take hands out the earliest due hit. ol.mu is held and backlog() > 0.
func (ol *openLoop) take() int64 {
	if n := len(ol.retry); n > 0 {
		k := ol.retry[n-1]
		ol.retry = ol.retry[:n-1]
		return k
	}
	ol.next++
	return ol.next - 1
}

// nextHit hands a connection that just became free the next due hit, or
// marks it idle. ol.mu is held; c counts as busy.
func (ol *openLoop) nextHit(c *conn) (int64, bool) {
	if !ol.closed && ol.backlog() > 0 {
		return ol.take(), true
	}
	ol.busy--
	c.idleAt = len(ol.idle)
	ol.idle = append(ol.idle, c)
	ol.checkDone()
	return 0, false
}

// unidle removes c from the idle list. ol.mu is held.
func (ol *openLoop) unidle(c *conn) {
	i, last := c.idleAt, len(ol.idle)-1
	if i < 0 {
		return
	}
	ol.idle[i] = ol.idle[last]
	ol.idle[i].idleAt = i
	ol.idle = ol.idle[:last]
	c.idleAt = -1
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

// send writes assigned hits from their connections' event loops, one task
// per loop.
func (ol *openLoop) send(out []assignment) {
	byLoop := map[gnet.EventLoop][]assignment{}
	for _, a := range out {
		if a.cp == nil {
			ol.requeue(a)
			continue
		}
		el := (*a.cp).EventLoop()
		byLoop[el] = append(byLoop[el], a)
	}
	for el, batch := range byLoop {
		err := el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
			ol.sendOnLoop(batch)
			return nil
		}))
		if err != nil {
			for _, a := range batch {
				ol.requeue(a)
			}
		}
	}
}

// sendOnLoop runs on the connections' event loop.
func (ol *openLoop) sendOnLoop(batch []assignment) {
	now := time.Now()
	for _, a := range batch {
		if a.c.conn.Load() != a.cp {
			ol.requeue(a) // closed meanwhile
			continue
		}
		a.c.begin(ol.dueAt(a.hit), now)
		// On a write error gnet closes the connection and OnClose records
		// the failure.
		_, _ = (*a.cp).Write(ol.target.nextRequest())
	}
}

// requeue puts back a hit whose connection closed before sending it.
func (ol *openLoop) requeue(a assignment) {
	ol.mu.Lock()
	defer ol.mu.Unlock()
	ol.busy--
	if !ol.closed {
		ol.retry = append(ol.retry, a.hit)
	}
	ol.checkDone()
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
	if !ol.closed && ol.backlog() > 0 {
		k := ol.take()
		ol.record(now, now.Sub(ol.dueAt(k)), "", errText(err))
	}
	ol.checkDone()
}

// OnOpen sends the earliest due hit on a new connection, or leaves it idle.
func (ol *openLoop) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	c := gc.Context().(*conn)
	c.conn.Store(&gc)
	ol.mu.Lock()
	ol.dialing--
	if ol.closed {
		ol.checkDone()
		ol.mu.Unlock()
		return nil, gnet.Close
	}
	ol.busy++
	k, ok := ol.nextHit(c)
	ol.mu.Unlock()
	if !ok {
		return nil, gnet.None
	}
	c.begin(ol.dueAt(k), time.Now())
	return ol.target.nextRequest(), gnet.None
}

// OnTraffic records each complete response and sends the next due hit on
// the same connection, if there is one.
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
		lat := c.settle(now)
		ol.mu.Lock()
		ol.record(now, lat, statusText(c.status), "")
		if c.connClose {
			ol.busy--
			ol.checkDone()
			ol.mu.Unlock()
			return gnet.Close // OnClose replaces it
		}
		k, ok := ol.nextHit(c)
		ol.mu.Unlock()
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
	ol.unidle(c)
	if ol.closed {
		ol.free = append(ol.free, c)
		ol.checkDone()
		return gnet.None
	}
	ol.dialing++
	go ol.dial(c)
	return gnet.None
}

// cancel closes the phase when the context is canceled; the watchdog then
// closes every connection.
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
