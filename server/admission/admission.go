// Package admission decides, before a model runs, whether a request is
// served now, waits briefly, or is refused at once, so that a burst beyond
// what the server can compute is shed cheaply instead of queued without
// bound (issue 18).
//
// A Limiter admits up to a limit of requests in flight. The limit is fixed,
// or adapted to measured latency (Gradient2, see gradient.go): when the
// latency of admitted requests rises above its long-run level, requests are
// queueing inside the server and the limit shrinks. Requests over the limit
// wait in a bounded queue whose wait is bounded in time (CoDel, see
// codel.go): a burst waits up to one interval; a standing queue makes the
// limiter overloaded, and then a request that waited 2 × target is refused
// and the newest waiters are served first. A request whose deadline has
// passed is never started.
//
// With ShedConnections (--admission_shed_connections, off by default), a
// ConnShedder (connshed.go) also bounds the HTTP/1.1 connections served
// while the Go scheduler's latency stays over the queue target: the wait
// before any handler runs, which the limit above cannot see (see there).
//
// Refusals are errors for which IsRefusal is true; their status code is
// RESOURCE_EXHAUSTED (REST answers them with 503 and Retry-After).
package admission

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/tfserve/tfserve/servable/status"
)

// Defaults for Options' zero fields.
const (
	DefaultMaxQueue      = 128
	DefaultQueueTarget   = 5 * time.Millisecond
	DefaultQueueInterval = 100 * time.Millisecond
	DefaultWindow        = 100 * time.Millisecond
	DefaultMaxAdaptive   = 1000
	// windowSamples is the fewest latencies a window averages.
	windowSamples = 10
)

// Options configure a Limiter. The flag names are those of cmd/tfserve.
type Options struct {
	// Fixed, when positive, is the number of requests admitted at once
	// (--admission_in_flight=N); zero adapts the limit.
	Fixed int
	// Initial, Min and Max bound the adaptive limit (--admission_min_in_flight
	// sets Min). Zero means 4 × CPUs, CPUs (at least 2), and
	// DefaultMaxAdaptive.
	Initial, Min, Max int
	// MaxQueue bounds the requests waiting for admission
	// (--admission_max_queue); zero means none wait: a request over the
	// limit is refused at once.
	MaxQueue int
	// QueueTarget and QueueInterval are CoDel's target and interval
	// (--admission_queue_target_micros, --admission_queue_interval_micros).
	// Zero means DefaultQueueTarget and DefaultQueueInterval.
	QueueTarget, QueueInterval time.Duration
	// Window is how often the adaptive limit is updated (also at least
	// 10 latencies each time). Zero means DefaultWindow.
	Window time.Duration
	// MaxPerClient, when positive, bounds the requests one client address
	// has admitted or waiting (--admission_max_in_flight_per_client); more
	// are refused at once with ClientLimit (REST 429).
	MaxPerClient int
	// ShedConnections turns on connection shedding (ConnShedder) for
	// AdmitConnection, with Conns (--admission_shed_connections).
	ShedConnections bool
	// Conns configures it; its zero Target, Window and Clock take
	// QueueTarget, Window and Clock.
	Conns ConnOptions
	// Dispatch turns on dispatch mode (dispatch.go) while the scheduler's
	// latency (SchedLatency, nil: the runtime's 90th percentile per Window)
	// stays over QueueTarget (--admission_dispatch).
	Dispatch     bool
	SchedLatency func() time.Duration
	// Clock; nil means SystemClock.
	Clock Clock
}

func (o Options) withDefaults() Options {
	cpus := runtime.GOMAXPROCS(0)
	if o.Min <= 0 {
		o.Min = max(2, cpus)
	}
	if o.Max <= 0 {
		o.Max = max(DefaultMaxAdaptive, o.Min)
	}
	if o.Initial <= 0 {
		o.Initial = 4 * cpus
	}
	o.Initial = min(o.Max, max(o.Min, o.Initial))
	if o.MaxQueue < 0 {
		o.MaxQueue = 0
	}
	if o.QueueTarget <= 0 {
		o.QueueTarget = DefaultQueueTarget
	}
	if o.QueueInterval <= 0 {
		o.QueueInterval = DefaultQueueInterval
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Conns.Target <= 0 {
		o.Conns.Target = o.QueueTarget
	}
	if o.Conns.Window <= 0 {
		o.Conns.Window = o.Window
	}
	if o.Conns.Clock == nil {
		o.Conns.Clock = o.Clock
	}
	if o.Dispatch && o.SchedLatency == nil {
		o.SchedLatency = NewSchedLatency(0.9).Read
	}
	return o
}

// Reason says why a request was not admitted.
type Reason int

// Reasons, in Stats order.
const (
	QueueFull        Reason = iota // the queue held MaxQueue requests
	QueueTimeout                   // it waited as long as the queue allows
	DeadlineExceeded               // its deadline passed before it started
	Cancelled                      // its caller gave up while it waited
	ConnectionShed                 // its connection was shed (ConnShedder)
	ClientLimit                    // its client had MaxPerClient requests in flight
	numReasons
)

// String returns the reason as a metric label value.
func (r Reason) String() string {
	switch r {
	case QueueFull:
		return "queue_full"
	case QueueTimeout:
		return "queue_timeout"
	case DeadlineExceeded:
		return "deadline_exceeded"
	case Cancelled:
		return "cancelled"
	case ConnectionShed:
		return "connection_shed"
	case ClientLimit:
		return "client_limit"
	}
	return "unknown"
}

// Reasons lists every Reason.
func Reasons() []Reason {
	return []Reason{QueueFull, QueueTimeout, DeadlineExceeded, Cancelled, ConnectionShed, ClientLimit}
}

// Refusal is the error of a request refused for overload.
type Refusal struct {
	reason    Reason
	closeConn bool
	err       *status.Error
}

func (r *Refusal) Error() string { return r.err.Msg }

// Unwrap returns the status error (RESOURCE_EXHAUSTED).
func (r *Refusal) Unwrap() error { return r.err }

// CloseConnection reports whether the refused request's connection is to
// be closed after the answer (a shed connection).
func (r *Refusal) CloseConnection() bool { return r.closeConn }

// PerClient reports whether the refusal is the client's own limit
// (MaxPerClient; HTTP 429) rather than the server's overload (503).
func (r *Refusal) PerClient() bool { return r.reason == ClientLimit }

// Reason says why the request was refused.
func (r *Refusal) Reason() Reason { return r.reason }

// IsRefusal reports whether err refuses a request for overload (and not for
// its deadline or its cancellation).
func IsRefusal(err error) bool { return refusalOf(err) != nil }

// refusalOf returns the *Refusal in err's chain, or nil.
func refusalOf(err error) *Refusal {
	// errors.As would move its target to the heap on every call.
	for err != nil {
		if r, ok := err.(*Refusal); ok {
			return r
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return nil
		}
		err = u.Unwrap()
	}
	return nil
}

// RetryAfterSeconds is the Retry-After value of a refusal: overload is
// measured in milliseconds, so the shortest the header allows.
const RetryAfterSeconds = 1

// Stats is a snapshot of a Limiter, for metrics.
type Stats struct {
	Limit, InFlight, Queued int
	Dispatching             bool // in dispatch mode (dispatch.go)
	Admitted                uint64
	NotAdmitted             [numReasons]uint64 // by Reason
}

// Limiter is admission control in front of model execution. It is safe for
// concurrent use.
type Limiter struct {
	opts      Options
	clock     Clock
	full      *Refusal
	timeout   *Refusal
	connErr   *Refusal
	staleErr  *Refusal
	perClient *Refusal
	conns     *ConnShedder // nil unless Options.ShedConnections

	mu       sync.Mutex
	limit    int
	grad     *gradient // nil: fixed limit
	inFlight int
	queue    list.List // of *waiter, oldest first
	codel    codel
	win      window
	shed     shedCounter
	admitted uint64
	refused  [numReasons]uint64
	clients  map[netip.Addr]int // requests admitted or waiting, by client (MaxPerClient)
	disp     dispatch
}

// window gathers the latencies of one adaptive-limit update.
type window struct {
	start       time.Time
	sum         time.Duration
	n           int
	maxInFlight int
}

type waiter struct {
	enq   time.Time
	elem  *list.Element // nil once out of the queue
	ch    chan error    // receives nil (admitted) or the refusal
	timer Timer
}

// New returns a Limiter.
func New(o Options) *Limiter {
	o = o.withDefaults()
	l := &Limiter{opts: o, clock: o.Clock, codel: codel{target: o.QueueTarget, interval: o.QueueInterval}}
	if o.Fixed > 0 {
		l.limit = o.Fixed
	} else {
		l.grad = newGradient(o.Initial, o.Min, o.Max)
		l.limit = l.grad.current()
	}
	l.full = &Refusal{reason: QueueFull, err: &status.Error{Code: status.ResourceExhausted, Msg: fmt.Sprintf(
		"Server overloaded: %d requests already wait to run (--admission_max_queue=%d); retry later",
		o.MaxQueue, o.MaxQueue)}}
	l.timeout = &Refusal{reason: QueueTimeout, err: &status.Error{Code: status.ResourceExhausted, Msg: fmt.Sprintf(
		"Server overloaded: the request waited its queue budget (--admission_queue_target_micros=%d, "+
			"--admission_queue_interval_micros=%d) without being started; retry later",
		o.QueueTarget.Microseconds(), o.QueueInterval.Microseconds())}}
	if o.MaxPerClient > 0 {
		l.clients = map[netip.Addr]int{}
		l.perClient = &Refusal{reason: ClientLimit, err: &status.Error{Code: status.ResourceExhausted, Msg: fmt.Sprintf(
			"Too many requests from this client: %d already run or wait (--admission_max_in_flight_per_client=%d); retry later",
			o.MaxPerClient, o.MaxPerClient)}}
	}
	if o.ShedConnections {
		l.conns = NewConnShedder(o.Conns)
		l.connErr = &Refusal{reason: ConnectionShed, closeConn: true, err: &status.Error{Code: status.ResourceExhausted, Msg: "Server overloaded: " +
			"this connection is closed to keep the latency of the connections served bounded " +
			"(--admission_shed_connections); retry later on a new connection"}}
		l.staleErr = &Refusal{reason: ConnectionShed, err: &status.Error{Code: status.ResourceExhausted, Msg: fmt.Sprintf(
			"Server overloaded: the request waited more than %dus before it was read (--admission_shed_connections, "+
				"--admission_queue_target_micros); this connection is served from now on",
			o.Conns.Target.Microseconds())}}
	}
	return l
}

// AdmitConnection is asked, before Acquire, by protocols with a connection
// per outstanding request (HTTP/1.1). It returns nil to go on, or a
// *Refusal to answer, after which the caller closes the connection if the
// refusal's CloseConnection says so (see ConnShedder.Shed). id identifies
// the connection (unique, increasing) and conn is it, its request just
// read.
func (l *Limiter) AdmitConnection(id uint64, conn net.Conn) error {
	if l.conns == nil {
		return nil
	}
	v := l.conns.Shed(id, conn)
	if v == Serve {
		return nil
	}
	now := l.clock.Now()
	l.mu.Lock()
	l.shed.arrive(now)
	l.refuseLocked(now, ConnectionShed)
	l.mu.Unlock()
	if v == Refuse {
		return l.staleErr
	}
	return l.connErr
}

// AcquireConn is Acquire for a request read from an HTTP/1.1 connection
// (id unique and increasing per connection, conn the connection): first
// AdmitConnection, then AcquireFrom the connection's remote address. A
// refusal's HTTPStatus says how to answer it.
func (l *Limiter) AcquireConn(ctx context.Context, id uint64, conn net.Conn) (Ticket, error) {
	if err := l.AdmitConnection(id, conn); err != nil {
		return Ticket{}, err
	}
	return l.AcquireFrom(ctx, ClientOf(conn.RemoteAddr()))
}

// ClientOf is a remote address as a client for MaxPerClient (the zero
// Addr, no limit, for other than IP addresses).
func ClientOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// HTTPStatus is the HTTP status of a refusal (429 for a client's own
// limit, 503 for overload, both with Retry-After: RetryAfterSeconds), and
// whether to close its connection; 0 for other errors.
func HTTPStatus(err error) (code int, closeConn bool) {
	switch r := refusalOf(err); {
	case r == nil:
		return 0, false
	case r.PerClient():
		return 429, false
	default:
		return 503, r.closeConn
	}
}

// Listener returns ln throttled while connections are shed (ln itself
// without connection shedding).
func (l *Limiter) Listener(ln net.Listener) net.Listener {
	if l == nil || l.conns == nil {
		return ln
	}
	return l.conns.Listener(ln)
}

// ConnStats returns the connection shedder's state (zero without one).
func (l *Limiter) ConnStats() ConnStats {
	if l.conns == nil {
		return ConnStats{}
	}
	return l.conns.Stats()
}

// Ticket is an admitted request's claim; call Release exactly once.
type Ticket struct {
	l      *Limiter
	start  time.Time
	client netip.Addr // counted against MaxPerClient when valid
}

// Release ends the request. sample says whether its latency tells how
// loaded the server is (false for requests that failed before running,
// were cancelled, or ran past their deadline).
func (t Ticket) Release(sample bool) {
	if t.l != nil {
		t.l.release(t.start, sample)
		t.l.leave(t.client)
	}
}

// Acquire admits the request, possibly after a wait, or refuses it: with a
// *Refusal (overload), a DEADLINE_EXCEEDED status when ctx's deadline has
// passed (then the request was not started), or CANCELLED when ctx ended
// otherwise.
func (l *Limiter) Acquire(ctx context.Context) (Ticket, error) {
	return l.AcquireFrom(ctx, netip.Addr{})
}

// AcquireFrom is Acquire for a request from client (its address; the zero
// Addr when unknown): with MaxPerClient, a client that has as many requests
// admitted or waiting is refused at once (PerClient).
func (l *Limiter) AcquireFrom(ctx context.Context, client netip.Addr) (Ticket, error) {
	if l.clients == nil || !client.IsValid() {
		return l.acquire(ctx)
	}
	l.mu.Lock()
	if l.clients[client] >= l.opts.MaxPerClient {
		// Not in the shed ratio: readiness follows the server's load,
		// not one client's.
		l.refused[ClientLimit]++
		l.mu.Unlock()
		return Ticket{}, l.perClient
	}
	l.clients[client]++
	l.mu.Unlock()
	t, err := l.acquire(ctx)
	if err != nil {
		l.leave(client)
		return t, err
	}
	t.client = client
	return t, nil
}

// leave ends a request of client's, counted by AcquireFrom.
func (l *Limiter) leave(client netip.Addr) {
	if l.clients == nil || !client.IsValid() {
		return
	}
	l.mu.Lock()
	if l.clients[client]--; l.clients[client] <= 0 {
		delete(l.clients, client)
	}
	l.mu.Unlock()
}

func (l *Limiter) acquire(ctx context.Context) (Ticket, error) {
	w, err := l.enter(ctx)
	if err != nil {
		return Ticket{}, err
	}
	if w == nil {
		return Ticket{l: l, start: l.clock.Now()}, nil
	}
	select {
	case err := <-w.ch:
		if err != nil {
			return Ticket{}, err
		}
		return Ticket{l: l, start: l.clock.Now()}, nil
	case <-ctx.Done():
		return Ticket{}, l.abandon(ctx, w)
	}
}

// enter admits at once (nil waiter), refuses, or queues a waiter.
func (l *Limiter) enter(ctx context.Context) (*waiter, error) {
	now := l.clock.Now()
	if dl, ok := ctx.Deadline(); ok && !now.Before(dl) {
		l.count(DeadlineExceeded)
		return nil, deadlineError()
	}
	if ctx.Err() != nil {
		l.count(reasonOf(ctx.Err()))
		return nil, contextError(ctx.Err())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shed.arrive(now)
	l.watchSchedLocked(now)
	if l.disp.on {
		return l.enqueueLocked(now), nil
	}
	if l.queue.Len() == 0 && l.inFlight < l.limit {
		l.codel.observe(now, 0)
		l.admitLocked()
		return nil, nil
	}
	l.codel.observe(now, l.oldestAgeLocked(now))
	l.sweepLocked(now)
	if l.queue.Len() >= l.opts.MaxQueue {
		if !l.codel.overloaded || l.queue.Len() == 0 {
			l.refuseLocked(now, QueueFull)
			return nil, l.full
		}
		// Overloaded, newest first: the oldest waiter is the one least
		// likely to be served in time; it makes room.
		l.refuseWaiterLocked(now, l.queue.Front().Value.(*waiter), l.full)
	}
	return l.pushLocked(now, l.codel.slough()), nil
}

// pushLocked queues a waiter whose wait is checked again after d.
func (l *Limiter) pushLocked(now time.Time, d time.Duration) *waiter {
	w := &waiter{enq: now, ch: make(chan error, 1)}
	w.elem = l.queue.PushBack(w)
	w.timer = l.clock.AfterFunc(d, func() { l.expire(w) })
	return w
}

func (l *Limiter) admitLocked() {
	l.inFlight++
	l.admitted++
	l.disp.earn()
	l.win.maxInFlight = max(l.win.maxInFlight, l.inFlight)
}

func (l *Limiter) count(r Reason) {
	l.mu.Lock()
	l.refused[r]++
	l.mu.Unlock()
}

func (l *Limiter) refuseLocked(now time.Time, r Reason) {
	l.refused[r]++
	l.shed.refuse(now)
}

// refuseWaiterLocked takes w out of the queue and refuses it with err.
func (l *Limiter) refuseWaiterLocked(now time.Time, w *waiter, err *Refusal) {
	l.removeLocked(w)
	l.refuseLocked(now, err.reason)
	w.ch <- err
}

func (l *Limiter) removeLocked(w *waiter) {
	l.queue.Remove(w.elem)
	w.elem = nil
	if w.timer != nil {
		w.timer.Stop()
	}
}

// expire runs when a waiter has waited 2 × target, and again at one
// interval: the queue refuses whoever waited longer than it allows now.
func (l *Limiter) expire(w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.elem == nil {
		return
	}
	now := l.clock.Now()
	l.codel.observe(now, l.oldestAgeLocked(now))
	l.sweepLocked(now)
	if w.elem != nil {
		d := l.maxWaitLocked() - now.Sub(w.enq)
		if d <= 0 {
			// Dispatch mode without a refusal to spend: at the longest hold.
			d = dispatchMaxHold*l.opts.QueueInterval - now.Sub(w.enq)
		}
		w.timer = l.clock.AfterFunc(d, func() { l.expire(w) })
	}
}

// sweepLocked refuses the waiters that waited as long as the queue allows
// now (the queue is in arrival order).
func (l *Limiter) sweepLocked(now time.Time) {
	for f := l.queue.Front(); f != nil; f = l.queue.Front() {
		w := f.Value.(*waiter)
		age := now.Sub(w.enq)
		if age < l.maxWaitLocked() || !l.disp.mayRefuse(age, l.opts.QueueInterval) {
			return
		}
		l.refuseWaiterLocked(now, w, l.timeout)
	}
}

func (l *Limiter) oldestAgeLocked(now time.Time) time.Duration {
	if f := l.queue.Front(); f != nil {
		return now.Sub(f.Value.(*waiter).enq)
	}
	return 0
}

// abandon takes a waiter whose context ended out of the queue; one that
// was admitted meanwhile gives its place back.
func (l *Limiter) abandon(ctx context.Context, w *waiter) error {
	reason := reasonOf(ctx.Err())
	l.mu.Lock()
	if w.elem != nil {
		l.removeLocked(w)
		l.refused[reason]++
		l.mu.Unlock()
		return contextError(ctx.Err())
	}
	l.mu.Unlock()
	if err := <-w.ch; err == nil {
		l.release(time.Time{}, false)
	}
	return contextError(ctx.Err())
}

// release ends an admitted request that started at start, then admits
// waiters while there is room.
func (l *Limiter) release(start time.Time, sample bool) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if sample && l.grad != nil {
		l.sampleLocked(now, now.Sub(start))
	}
	if l.disp.on {
		l.disp.waker.wake()
		return
	}
	l.grantLocked(now)
}

func (l *Limiter) sampleLocked(now time.Time, rtt time.Duration) {
	if l.win.n == 0 {
		l.win.start = now
	}
	l.win.sum += rtt
	l.win.n++
	if l.win.n < windowSamples || now.Sub(l.win.start) < l.opts.Window {
		return
	}
	l.limit = l.grad.update(l.win.sum/time.Duration(l.win.n), l.win.maxInFlight)
	l.win = window{maxInFlight: l.inFlight}
}

// grantLocked admits waiters while in-flight requests are under the limit:
// the oldest first, or the newest first while overloaded, after refusing
// those that waited too long.
func (l *Limiter) grantLocked(now time.Time) {
	for l.inFlight < l.limit && l.queue.Len() > 0 {
		l.codel.observe(now, l.oldestAgeLocked(now))
		l.sweepLocked(now)
		e := l.queue.Front()
		if l.codel.overloaded {
			e = l.queue.Back()
		}
		if e == nil {
			return
		}
		l.grantWaiterLocked(e.Value.(*waiter))
	}
}

// grantWaiterLocked takes w out of the queue and admits it.
func (l *Limiter) grantWaiterLocked(w *waiter) {
	l.removeLocked(w)
	l.admitLocked()
	w.ch <- nil
}

// Stats returns counters and the current limit, for metrics.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Limit: l.limit, InFlight: l.inFlight, Queued: l.queue.Len(), Dispatching: l.disp.on,
		Admitted: l.admitted, NotAdmitted: l.refused}
}

// ShedRatio is the fraction of requests refused for overload over the last
// one to two seconds (0 when none arrived).
func (l *Limiter) ShedRatio() float64 {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shed.ratio(now)
}

func reasonOf(err error) Reason {
	if errors.Is(err, context.DeadlineExceeded) {
		return DeadlineExceeded
	}
	return Cancelled
}

func deadlineError() error {
	return status.New(status.DeadlineExceeded, "Deadline Exceeded: the request's deadline passed before it was started")
}

func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(status.DeadlineExceeded, "Deadline Exceeded: the request's deadline passed before it was started")
	}
	return status.New(status.Cancelled, "Cancelled before the request was started")
}
