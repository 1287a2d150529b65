package admission

import (
	"runtime"
	"time"
)

// Dispatch mode (Options.Dispatch). Under a CPU overload from many
// connections, requests wait before any handler sees them: each connection
// with a request is a runnable goroutine, a busy scheduler runs them in
// arrival order and looks for newly arrived requests only when its run
// queues are empty or every 10 ms, so a request waits behind every other
// connection's (Little's law over the clients' pool), and the in-flight
// limit never binds: on a saturated CPU a handler runs to completion before
// the next one is admitted.
//
// While the scheduler's latency stays over the queue target, every request
// therefore waits for admission, parked (it costs no CPU and holds its
// client's connection, so the client sends nothing more on it), and one
// dispatcher goroutine admits the newest first, as many as the limit
// allows. The dispatcher is woken through the network poller (pollWaker),
// so it runs only once the scheduler has polled the network: after every
// connection whose request arrived meanwhile has read it and parked. The
// requests served are thus the newest; the oldest are refused once they
// have waited the queue interval (QueueTimeout), but no more often than one
// per dispatchAdmitsPerRefusal admissions (or after dispatchMaxHold
// intervals): each refusal frees a client connection for another request,
// so with many connections refusing at the rate they age would spend the
// CPU on refusals instead of on the requests served. Dispatch mode ends when the
// dispatcher finds nobody waiting one queue interval after it last left a
// request waiting; it starts again at the next reading of the scheduler's
// latency over the target (at most once a window).
type dispatch struct {
	on      bool
	waker   *pollWaker // the running dispatcher's, while on
	schedAt time.Time  // when the scheduler's latency was last read
	busyAt  time.Time  // when the dispatcher last left a request waiting
	tokens  float64    // refusals of aged waiters earned by admissions
}

// Refusals of waiters that aged in dispatch mode.
const (
	dispatchAdmitsPerRefusal = 8  // admissions that earn one refusal
	dispatchTokenCap         = 64 // refusals saved up at most
	dispatchMaxHold          = 10 // intervals after which a waiter is refused anyway
)

// earn credits an admission in dispatch mode.
func (d *dispatch) earn() {
	if d.on {
		d.tokens = min(d.tokens+1.0/dispatchAdmitsPerRefusal, dispatchTokenCap)
	}
}

// mayRefuse reports whether a waiter of age (at least the queue's maximum
// wait) is refused now, spending a refusal in dispatch mode.
func (d *dispatch) mayRefuse(age, interval time.Duration) bool {
	switch {
	case !d.on || age >= dispatchMaxHold*interval:
		return true
	case d.tokens >= 1:
		d.tokens--
		return true
	}
	return false
}

// watchSchedLocked reads the scheduler's latency once per window and turns
// dispatch mode on while it is over the target.
func (l *Limiter) watchSchedLocked(now time.Time) {
	if !l.opts.Dispatch || l.disp.on || l.opts.MaxQueue == 0 || now.Sub(l.disp.schedAt) < l.opts.Window {
		return
	}
	l.disp.schedAt = now
	if l.opts.SchedLatency() > l.opts.QueueTarget {
		w, err := newPollWaker()
		if err != nil {
			return // no dispatch mode on this platform
		}
		l.disp.on, l.disp.waker, l.disp.busyAt = true, w, now
		go l.dispatchLoop(w)
	}
}

// enqueueLocked queues a request in dispatch mode, making room by refusing
// the oldest waiter when the queue is full.
func (l *Limiter) enqueueLocked(now time.Time) *waiter {
	l.codel.observe(now, l.oldestAgeLocked(now))
	l.sweepLocked(now)
	if l.queue.Len() >= l.opts.MaxQueue {
		l.refuseWaiterLocked(now, l.queue.Front().Value.(*waiter), l.full)
	}
	w := l.pushLocked(now, l.opts.QueueInterval)
	if l.inFlight < l.limit {
		// No release is coming to wake the dispatcher.
		l.disp.waker.wake()
	}
	return w
}

// dispatchLoop admits waiters, newest first, each time it is woken, until
// dispatch mode ends.
func (l *Limiter) dispatchLoop(w *pollWaker) {
	defer w.close()
	for {
		err := w.wait()
		l.mu.Lock()
		now := l.clock.Now()
		l.codel.observe(now, l.oldestAgeLocked(now))
		l.sweepLocked(now)
		l.dispatchLocked(now)
		if l.queue.Len() > 0 {
			l.disp.busyAt = now
		}
		if err != nil || now.Sub(l.disp.busyAt) >= l.opts.QueueInterval {
			l.disp.on, l.disp.waker = false, nil
			l.grantLocked(now) // after an error, whoever still waits
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// dispatchLocked admits waiters, newest first, up to the dispatch limit:
// the in-flight limit, but no more than max(CPUs, Options.Min), since the
// requests admitted at once run one after the other on a saturated CPU. A
// newest waiter that waited over 2 × target is refused instead while
// admissions have earned refusals: serving it would count its wait.
func (l *Limiter) dispatchLocked(now time.Time) {
	lim := min(l.limit, max(runtime.GOMAXPROCS(0), l.opts.Min))
	for l.inFlight < lim && l.queue.Len() > 0 {
		w := l.queue.Back().Value.(*waiter)
		if now.Sub(w.enq) > l.codel.slough() && l.disp.tokens >= 1 {
			l.disp.tokens--
			l.refuseWaiterLocked(now, w, l.timeout)
			continue
		}
		l.grantWaiterLocked(w)
	}
}

// maxWaitLocked is how long a request may wait for admission now.
func (l *Limiter) maxWaitLocked() time.Duration {
	if l.disp.on {
		return l.opts.QueueInterval
	}
	return l.codel.maxWait()
}
