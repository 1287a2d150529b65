package restapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfserve/tfserve/server/workers"
)

// Run contexts for --rest_api_timeout_in_ms without a timer per request.
//
// context.WithDeadline costs every request three allocations and a runtime
// timer added and removed, although the run nearly always ends long before
// its deadline. Requests whose deadline is now + Timeout get their
// deadlines in nearly increasing order, so a server keeps them in one
// queue ordered by deadline, with one timer armed for the earliest: a
// request costs one allocation and two short critical sections, and the
// timer fires about once per Timeout. A runCtx behaves as WithDeadline's
// context does: Deadline reports the deadline; once it passes Done is
// closed and Err returns context.DeadlineExceeded; once cancelled (at the
// end of the request) Done is closed and Err returns context.Canceled.
// Timeouts under minQueuedTimeout and client deadlines
// (RequestTimeoutHeader) use context.WithDeadline.

// minQueuedTimeout is the least timeout whose contexts are queued: the
// deadline is then certainly in the future when the context starts (as
// WithDeadline's check would find).
const minQueuedTimeout = 10 * time.Millisecond

// runDeadlines is a server's queue of live run contexts.
type runDeadlines struct {
	mu    sync.Mutex
	q     []*runCtx // q[head:] by deadline, cancelled ones not yet dropped
	head  int
	live  int // contexts in q[head:] neither cancelled nor expired
	timer *time.Timer
	armed time.Time // when timer fires; zero when not armed
}

// runCtx is one request's run context (see above).
type runCtx struct {
	context.Context // the parent, for Value
	// slot is the request's worker slot, the Value of workers' context
	// key (in place of a context.WithValue layer); nil when none.
	slot     *workers.Slot
	deadline time.Time
	owner    *runDeadlines
	state    atomic.Int32 // live, or why it ended
	mu       sync.Mutex
	done     chan struct{} // made by the first Done; under mu
	dropped  bool          // out of owner's count; under owner.mu
}

// runCtx states.
const (
	ctxLive int32 = iota
	ctxCanceled
	ctxExpired
)

// start returns a context of parent that ends at deadline, which must be
// at least minQueuedTimeout from now; the caller must call its stop.
func (d *runDeadlines) start(parent context.Context, deadline time.Time) *runCtx {
	c := new(runCtx)
	d.startIn(c, parent, nil, deadline)
	return c
}

// startIn is start into c, a zero runCtx that the caller allocated (in
// its per-request state), carrying slot (when not nil) for
// workers.FromContext.
func (d *runDeadlines) startIn(c *runCtx, parent context.Context, slot *workers.Slot, deadline time.Time) {
	c.Context, c.slot, c.deadline, c.owner = parent, slot, deadline, d
	d.mu.Lock()
	switch {
	case d.head == len(d.q):
		d.q, d.head = d.q[:0], 0
	case d.head > 64 && d.head > len(d.q)/2:
		// Under steady load the queue is never empty: move the pending
		// part to the front, so the array does not grow with the dropped
		// ones before head.
		n := copy(d.q, d.q[d.head:])
		clear(d.q[n:])
		d.q, d.head = d.q[:n], 0
	}
	// Insert by deadline, from the end: requests that computed their
	// deadlines in another order arrive here at most a few places apart.
	i := len(d.q)
	d.q = append(d.q, c)
	for i > d.head && d.q[i-1].deadline.After(deadline) {
		d.q[i] = d.q[i-1]
		i--
	}
	d.q[i] = c
	d.live++
	if d.armed.IsZero() || deadline.Before(d.armed) {
		d.arm(deadline)
	}
	d.mu.Unlock()
}

// arm sets the timer to fire at t; d.mu is held.
func (d *runDeadlines) arm(t time.Time) {
	d.armed = t
	if d.timer == nil {
		d.timer = time.AfterFunc(time.Until(t), d.fire)
	} else {
		d.timer.Reset(time.Until(t))
	}
}

// fire expires the contexts whose deadline has passed and arms the timer
// for the next one.
func (d *runDeadlines) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed = time.Time{}
	now := time.Now()
	for d.head < len(d.q) {
		c := d.q[d.head]
		if !c.dropped {
			if c.deadline.After(now) {
				d.arm(c.deadline)
				return
			}
			c.end(ctxExpired)
			c.dropped = true
			d.live--
		}
		d.q[d.head] = nil
		d.head++
	}
}

// drop takes a stopped context out of the queue: at once when it is the
// earliest, else when it becomes so or the queue is compacted.
func (d *runDeadlines) drop(c *runCtx) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.dropped {
		return // expired
	}
	c.dropped = true
	d.live--
	for d.head < len(d.q) && d.q[d.head].dropped {
		d.q[d.head] = nil
		d.head++
	}
	// A long run at the head keeps the contexts behind it queued; compact
	// when they outnumber the live ones, so the queue stays within about
	// twice the requests in flight.
	if n := len(d.q) - d.head; n > 64 && n > 2*d.live {
		k := 0
		for _, x := range d.q[d.head:] {
			if !x.dropped {
				d.q[k] = x
				k++
			}
		}
		clear(d.q[k:])
		d.q, d.head = d.q[:k], 0
	}
}

// end records why the context ended (the first reason wins) and closes
// Done.
func (c *runCtx) end(why int32) {
	c.mu.Lock()
	if c.state.CompareAndSwap(ctxLive, why) && c.done != nil {
		close(c.done)
	}
	c.mu.Unlock()
}

// stop cancels the context (Err then returns context.Canceled unless its
// deadline passed first) and takes it out of the queue.
func (c *runCtx) stop() {
	c.end(ctxCanceled)
	c.owner.drop(c)
}

func (c *runCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *runCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.state.Load() != ctxLive {
			close(c.done)
		}
	}
	return c.done
}

func (c *runCtx) Err() error {
	switch c.state.Load() {
	case ctxCanceled:
		return context.Canceled
	case ctxExpired:
		return context.DeadlineExceeded
	}
	return nil
}

// Value answers workers' context key with the request's slot and asks the
// parent for other keys.
func (c *runCtx) Value(key any) any {
	if c.slot != nil && workers.IsContextKey(key) {
		return c.slot
	}
	return c.Context.Value(key)
}

func (c *runCtx) String() string { return "restapi.runCtx" }
