package admission

import (
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Connection shedding. Admission control sees a request only once a
// handler runs, but under a CPU overload from many connections most of the
// wait comes before that: every connection with a request is a runnable
// goroutine, and one more request waits behind all of them. With a client
// pool of P connections kept busy, the wait is P divided by the server's
// rate (Little's law), and refusing requests does not shorten it, since
// each refusal frees a client connection for the next request.
//
// So while the runtime's scheduling latency stays over the target, the
// server bounds the connections it serves: the ones it was already serving
// (incumbents, up to a budget) keep being served, and a request on any
// other connection is refused and its connection closed. The client's
// reconnects go through the single accept loop, a small share of the
// CPU, so the incumbents' requests wait behind at most budget others. The
// budget scales by target/latency (a quarter to seven eighths less) each
// window the latency stays over target, holds while it is between half the target and the target, and grows by
// a quarter below half (to twice the connections served at most);
// shedding ends after a window below half the target in which nothing was
// shed and the accept loop was not held back by its rate.

// ConnOptions configure a ConnShedder.
type ConnOptions struct {
	// Target is the scheduling latency (90th percentile over a window)
	// above which connections are shed. Zero means DefaultQueueTarget.
	Target time.Duration
	// Window is how often the latency is read and the budget updated.
	// Zero means DefaultWindow.
	Window time.Duration
	// Min is the fewest connections served while shedding. Zero means
	// 8 × CPUs, at least 16.
	Min int
	// MaxTracked bounds the connections remembered (DefaultMaxTracked when
	// zero); beyond it, new connections are shed while shedding.
	MaxTracked int
	// AcceptRate bounds the connections accepted per second while
	// shedding (DefaultAcceptRate when zero).
	AcceptRate int
	// Latency returns the scheduling latency since its previous call; nil
	// reads the runtime's (SchedLatency at 0.9).
	Latency func() time.Duration
	// Sojourn tells how long a connection's request waited before it was
	// read; nil means the kernel's (Sojourn).
	Sojourn func(net.Conn) time.Duration
	// Clock; nil means SystemClock.
	Clock Clock
}

// DefaultMaxTracked is ConnOptions.MaxTracked's default.
const DefaultMaxTracked = 1 << 16

func (o ConnOptions) withDefaults() ConnOptions {
	if o.Target <= 0 {
		o.Target = DefaultQueueTarget
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Min <= 0 {
		o.Min = max(16, 8*runtime.GOMAXPROCS(0))
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = DefaultMaxTracked
	}
	o.Min = min(o.Min, o.MaxTracked)
	if o.AcceptRate <= 0 {
		o.AcceptRate = DefaultAcceptRate
	}
	if o.Latency == nil {
		o.Latency = NewSchedLatency(0.9).Read
	}
	if o.Sojourn == nil {
		o.Sojourn = Sojourn
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	return o
}

// connMode is a ConnShedder's state.
type connMode int32

const (
	connsNormal   connMode = iota // nothing recorded, nothing shed
	connsWatching                 // latency over half the target: record who is served
	connsShedding                 // latency was over the target: serve incumbents only
)

// ConnShedder decides, per request, whether its connection is served or
// shed (see the comment above ConnOptions). It is safe for concurrent use.
type ConnShedder struct {
	opts ConnOptions

	next       atomic.Int64 // UnixNano at which the current window ends
	mode       atomic.Int32 // connMode
	lastAccept atomic.Int64 // UnixNano of the last accepted connection
	accepts    atomic.Int64 // connections accepted in the current window

	mu        sync.Mutex
	seen      map[uint64]struct{} // connections served this window
	admitted  map[uint64]struct{} // incumbents while shedding
	budget    int
	shedCount uint64 // shed in this window
	latency   time.Duration
	ids       []uint64 // scratch for trimming
}

// NewConnShedder returns a ConnShedder.
func NewConnShedder(o ConnOptions) *ConnShedder {
	o = o.withDefaults()
	c := &ConnShedder{opts: o, seen: map[uint64]struct{}{}, admitted: map[uint64]struct{}{}}
	o.Latency() // the first window starts now, not at the process's start
	c.next.Store(o.Clock.Now().Add(o.Window).UnixNano())
	return c
}

// Verdict is ConnShedder.Shed's decision on a request.
type Verdict int

// Verdicts.
const (
	Serve     Verdict = iota // serve the request
	Refuse                   // refuse the request; the connection is admitted
	CloseConn                // refuse the request and close its connection
)

// Shed decides on the request on connection id (unique per connection,
// increasing, as fasthttp's ConnID), just read from conn. While shedding, a
// connection that is not an incumbent is closed unless the budget has
// room; then it becomes one, but a request of its that waited longer than
// the target before it was read (Sojourn: clients let in through the
// accept queue have waited there) is refused, so that the next one, fresh,
// is served.
func (c *ConnShedder) Shed(id uint64, conn net.Conn) Verdict {
	now := c.opts.Clock.Now().UnixNano()
	if now >= c.next.Load() {
		c.roll(now)
	}
	if connMode(c.mode.Load()) == connsNormal {
		return Serve
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch connMode(c.mode.Load()) {
	case connsWatching:
		c.noteLocked(id)
	case connsShedding:
		if _, ok := c.admitted[id]; !ok {
			if len(c.admitted) >= c.budget {
				c.shedCount++
				return CloseConn
			}
			c.admitted[id] = struct{}{}
			c.noteLocked(id)
			if c.opts.Sojourn(conn) > c.opts.Target {
				return Refuse
			}
			return Serve
		}
		c.noteLocked(id)
	}
	return Serve
}

func (c *ConnShedder) noteLocked(id uint64) {
	if len(c.seen) < c.opts.MaxTracked {
		c.seen[id] = struct{}{}
	}
}

// roll ends the window: it reads the latency and moves between modes.
func (c *ConnShedder) roll(now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now < c.next.Load() {
		return // another request rolled it
	}
	c.next.Store(now + int64(c.opts.Window))
	accepts := c.accepts.Swap(0)
	lat := c.opts.Latency()
	c.latency = lat
	over, high := lat > c.opts.Target, lat > c.opts.Target/2
	switch connMode(c.mode.Load()) {
	case connsNormal:
		if high {
			c.mode.Store(int32(connsWatching))
		}
	case connsWatching:
		switch {
		case over && len(c.seen) > 0:
			c.admitted, c.seen = c.seen, c.admitted
			c.budget = c.shrunk(len(c.admitted), lat)
			c.trimLocked()
			c.mode.Store(int32(connsShedding))
		case !high:
			c.mode.Store(int32(connsNormal))
		}
	case connsShedding:
		// Incumbents that sent nothing this window have gone.
		for id := range c.admitted {
			if _, ok := c.seen[id]; !ok {
				delete(c.admitted, id)
			}
		}
		switch {
		case over:
			c.budget = c.shrunk(min(c.budget, len(c.admitted)), lat)
			c.trimLocked()
		case !high && c.shedCount == 0 && !c.throttled(accepts):
			clear(c.admitted)
			c.mode.Store(int32(connsNormal))
		case !high:
			c.budget = min(c.opts.MaxTracked, c.budget+c.budget/4+1, 2*len(c.admitted)+c.opts.Min)
		}
	}
	clear(c.seen)
	c.shedCount = 0
}

// throttled reports whether the accept loop took connections at nearly
// the throttle's rate over the window: then clients wait in the kernel's
// accept queue, and ending the shedding would let all of them in at once.
func (c *ConnShedder) throttled(accepts int64) bool {
	return float64(accepts) >= 0.5*float64(c.opts.AcceptRate)*c.opts.Window.Seconds()
}

// shrunk is the budget after a window of n connections served with
// scheduling latency lat over the target: the wait grows with the
// connections served, so n scales by target/lat, by a quarter at least and
// by seven eighths at most, and never below Min.
func (c *ConnShedder) shrunk(n int, lat time.Duration) int {
	f := min(0.75, max(0.125, float64(c.opts.Target)/float64(lat)))
	return max(c.opts.Min, int(float64(n)*f))
}

// trimLocked keeps the budget's oldest incumbents (smallest ids).
func (c *ConnShedder) trimLocked() {
	if len(c.admitted) <= c.budget {
		return
	}
	c.ids = c.ids[:0]
	for id := range c.admitted {
		c.ids = append(c.ids, id)
	}
	slices.Sort(c.ids)
	for _, id := range c.ids[c.budget:] {
		delete(c.admitted, id)
	}
}

// ConnStats is a snapshot of a ConnShedder, for metrics.
type ConnStats struct {
	Shedding bool
	Budget   int           // connections served while shedding
	Latency  time.Duration // the last window's scheduling latency
}

// Stats returns the shedder's state.
func (c *ConnShedder) Stats() ConnStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ConnStats{Shedding: connMode(c.mode.Load()) == connsShedding, Budget: c.budget, Latency: c.latency}
}

// DefaultAcceptRate is ConnOptions.AcceptRate's default.
const DefaultAcceptRate = 500

// acceptWait is how long the accept loop waits, at now, before taking the
// next connection: while shedding, connections are accepted at AcceptRate
// at most, so that clients that reconnect after being shed wait in the
// kernel's accept queue instead of costing the CPU a connection each.
func (c *ConnShedder) acceptWait(now time.Time) time.Duration {
	if connMode(c.mode.Load()) != connsShedding {
		return 0
	}
	last := c.lastAccept.Load()
	if last == 0 {
		return 0
	}
	return time.Duration(last + int64(time.Second)/int64(c.opts.AcceptRate) - now.UnixNano()) // may be negative
}

// Listener returns ln, throttled while shedding (see acceptWait).
func (c *ConnShedder) Listener(ln net.Listener) net.Listener {
	return &throttledListener{Listener: ln, c: c}
}

type throttledListener struct {
	net.Listener
	c *ConnShedder
}

func (t *throttledListener) Accept() (net.Conn, error) {
	if d := t.c.acceptWait(t.c.opts.Clock.Now()); d > 0 {
		time.Sleep(d)
	}
	conn, err := t.Listener.Accept()
	if err == nil {
		t.c.lastAccept.Store(t.c.opts.Clock.Now().UnixNano())
		t.c.accepts.Add(1)
	}
	return conn, err
}
