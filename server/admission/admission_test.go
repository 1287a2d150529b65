package admission

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/servable/status"
)

const (
	target   = 5 * time.Millisecond
	interval = 100 * time.Millisecond
)

func fixedLimiter(c *fakeClock, limit, queue int) *Limiter {
	return New(Options{Fixed: limit, MaxQueue: queue, QueueTarget: target, QueueInterval: interval, Clock: c})
}

// admit enters a request that must be admitted at once.
func admit(t *testing.T, l *Limiter) {
	t.Helper()
	w, err := l.enter(context.Background())
	if err != nil || w != nil {
		t.Fatalf("enter: waiter %v, err %v; want admitted at once", w, err)
	}
}

// enqueue enters a request that must wait.
func enqueue(t *testing.T, l *Limiter) *waiter {
	t.Helper()
	w, err := l.enter(context.Background())
	if err != nil || w == nil {
		t.Fatalf("enter: waiter %v, err %v; want queued", w, err)
	}
	return w
}

// outcome returns what w was told, if anything yet.
func outcome(w *waiter) (err error, told bool) {
	select {
	case err := <-w.ch:
		return err, true
	default:
		return nil, false
	}
}

func wantAdmitted(t *testing.T, w *waiter) {
	t.Helper()
	if err, told := outcome(w); !told || err != nil {
		t.Fatalf("waiter: told %v, err %v; want admitted", told, err)
	}
}

func wantWaiting(t *testing.T, w *waiter) {
	t.Helper()
	if err, told := outcome(w); told {
		t.Fatalf("waiter was told %v; want still waiting", err)
	}
}

func wantRefused(t *testing.T, w *waiter, reason Reason) {
	t.Helper()
	err, told := outcome(w)
	if !told {
		t.Fatalf("waiter still waits; want refused (%v)", reason)
	}
	checkRefusal(t, err, reason)
}

func checkRefusal(t *testing.T, err error, reason Reason) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || r.Reason() != reason {
		t.Fatalf("err %v; want refusal %v", err, reason)
	}
	if status.CodeOf(err) != status.ResourceExhausted || !IsRefusal(err) {
		t.Fatalf("code %v, IsRefusal %v; want RESOURCE_EXHAUSTED refusal", status.CodeOf(err), IsRefusal(err))
	}
}

func wantStats(t *testing.T, l *Limiter, inFlight, queued int) Stats {
	t.Helper()
	s := l.Stats()
	if s.InFlight != inFlight || s.Queued != queued {
		t.Fatalf("stats: in flight %d, queued %d; want %d, %d", s.InFlight, s.Queued, inFlight, queued)
	}
	return s
}

func TestFixedLimitQueuesInOrderAndRefusesWhenFull(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 2, 2)
	admit(t, l)
	admit(t, l)
	w1 := enqueue(t, l)
	w2 := enqueue(t, l)
	_, err := l.enter(context.Background())
	checkRefusal(t, err, QueueFull)
	if !strings.Contains(err.Error(), "--admission_max_queue=2") {
		t.Errorf("message %q does not name the flag and its value", err)
	}
	wantStats(t, l, 2, 2)

	l.release(c.Now(), false)
	wantAdmitted(t, w1)
	wantWaiting(t, w2)
	s := wantStats(t, l, 2, 1)
	if s.Admitted != 3 || s.NotAdmitted[QueueFull] != 1 {
		t.Fatalf("admitted %d, queue_full %d; want 3, 1", s.Admitted, s.NotAdmitted[QueueFull])
	}
}

func TestNoQueueRefusesOverLimit(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 0)
	admit(t, l)
	_, err := l.enter(context.Background())
	checkRefusal(t, err, QueueFull)
	l.release(c.Now(), false)
	admit(t, l)
}

func TestBurstWaitsOneIntervalThenIsRefused(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	admit(t, l)
	w := enqueue(t, l)
	c.Advance(interval - time.Microsecond)
	wantWaiting(t, w)
	c.Advance(time.Microsecond)
	wantRefused(t, w, QueueTimeout)
	wantStats(t, l, 1, 0)
	if n := c.pending(); n != 0 {
		t.Fatalf("%d timers left pending", n)
	}
}

func TestWaiterAdmittedBeforeItsBudgetStopsItsTimer(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	admit(t, l)
	w := enqueue(t, l)
	c.Advance(30 * time.Millisecond)
	l.release(c.Now(), false)
	wantAdmitted(t, w)
	if n := c.pending(); n != 0 {
		t.Fatalf("%d timers left pending", n)
	}
	c.Advance(time.Second)
	wantStats(t, l, 1, 0)
}

// standingQueue drives l (fixed limit 1) through one interval in which the
// queue never emptied and its oldest waiter was always older than target:
// after it the limiter is overloaded, with one request in flight and none
// waiting.
func standingQueue(t *testing.T, c *fakeClock, l *Limiter) {
	t.Helper()
	admit(t, l) // observes age 0: this first interval cannot end overloaded
	a := enqueue(t, l)
	c.Advance(interval / 2)
	b := enqueue(t, l)
	c.Advance(interval / 2) // a refused at one interval; the next interval starts
	wantRefused(t, a, QueueTimeout)
	d := enqueue(t, l) // oldest age from here on: at least interval/2
	c.Advance(interval / 2)
	wantRefused(t, b, QueueTimeout)
	e := enqueue(t, l)
	if l.codel.overloaded {
		t.Fatal("overloaded before a whole interval of standing queue")
	}
	c.Advance(interval / 2) // the interval ends overloaded: both waited over 2 × target
	wantRefused(t, d, QueueTimeout)
	wantRefused(t, e, QueueTimeout)
	if !l.codel.overloaded {
		t.Fatal("queue stood for an interval above target; want overloaded")
	}
	wantStats(t, l, 1, 0)
}

func TestStandingQueueShortensWaitToTwiceTarget(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	standingQueue(t, c, l)
	w := enqueue(t, l)
	c.Advance(2*target - time.Microsecond)
	wantWaiting(t, w)
	c.Advance(time.Microsecond)
	wantRefused(t, w, QueueTimeout)
}

func TestOverloadedServesNewestFirst(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	standingQueue(t, c, l)
	old := enqueue(t, l)
	c.Advance(time.Millisecond)
	young := enqueue(t, l)
	c.Advance(time.Millisecond)
	l.release(c.Now(), false)
	wantAdmitted(t, young)
	wantWaiting(t, old)
}

func TestOverloadedFullQueueEvictsOldest(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 2)
	standingQueue(t, c, l)
	a := enqueue(t, l)
	b := enqueue(t, l)
	d := enqueue(t, l)
	wantRefused(t, a, QueueFull)
	wantWaiting(t, b)
	wantWaiting(t, d)
}

func TestQueueRecoversWhenItDrains(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	standingQueue(t, c, l)
	l.release(c.Now(), false)
	// A whole interval of admissions without waiting ends the overload.
	for range 3 {
		admit(t, l)
		c.Advance(interval / 2)
		l.release(c.Now(), false)
	}
	if l.codel.overloaded {
		t.Fatal("no queue for an interval; want not overloaded")
	}
}

func TestPassedDeadlineIsNotStarted(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 4, 8)
	ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(-time.Nanosecond))
	defer cancel()
	_, err := l.Acquire(ctx)
	if status.CodeOf(err) != status.DeadlineExceeded || IsRefusal(err) {
		t.Fatalf("err %v (code %v); want DEADLINE_EXCEEDED, not a refusal", err, status.CodeOf(err))
	}
	s := wantStats(t, l, 0, 0)
	if s.NotAdmitted[DeadlineExceeded] != 1 || s.Admitted != 0 {
		t.Fatalf("stats %+v; want one deadline_exceeded, none admitted", s)
	}
}

func TestCancelledWaiterLeavesQueue(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	admit(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := l.enter(ctx)
	if err != nil || w == nil {
		t.Fatalf("enter: %v, %v", w, err)
	}
	cancel()
	err = l.abandon(ctx, w)
	if status.CodeOf(err) != status.Cancelled {
		t.Fatalf("err %v; want CANCELLED", err)
	}
	s := wantStats(t, l, 1, 0)
	if s.NotAdmitted[Cancelled] != 1 {
		t.Fatalf("cancelled %d; want 1", s.NotAdmitted[Cancelled])
	}
}

func TestCancelledAfterAdmissionGivesPlaceBack(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	admit(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	w, _ := l.enter(ctx)
	l.release(c.Now(), false) // admits w
	cancel()
	if err := l.abandon(ctx, w); status.CodeOf(err) != status.Cancelled {
		t.Fatalf("err %v; want CANCELLED", err)
	}
	wantStats(t, l, 0, 0)
}

func TestAcquireWaitsAndReleases(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 8)
	first, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		tk, err := l.Acquire(context.Background())
		if err == nil {
			tk.Release(false)
		}
		got <- err
	}()
	for l.Stats().Queued == 0 {
		time.Sleep(time.Millisecond) // wait for the goroutine to queue (no timing asserted)
	}
	first.Release(false)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	wantStats(t, l, 0, 0)
}

func TestAdaptiveLimitUpdatesOncePerWindow(t *testing.T) {
	c := newFakeClock()
	l := New(Options{Initial: 10, Min: 2, Max: 100, MaxQueue: 8, Window: 100 * time.Millisecond, Clock: c})
	if got := l.Stats().Limit; got != 10 {
		t.Fatalf("initial limit %d; want 10", got)
	}
	// Flat latency with the limit fully used: Gradient2 grows it by
	// smoothing × queueSize = 0.8 per window: 10.8, then 11.6.
	window := func(rtt time.Duration) {
		start := c.Now()
		for range 10 {
			admit(t, l)
		}
		c.Advance(rtt)
		for range 10 {
			l.release(start, true)
		}
	}
	window(time.Millisecond)
	if got := l.Stats().Limit; got != 10 {
		t.Fatalf("limit %d after a window shorter than Window; want 10 (no update)", got)
	}
	c.Advance(100 * time.Millisecond)
	window(time.Millisecond) // 20 samples over > 100 ms: one update, 10.8
	window(time.Millisecond)
	c.Advance(100 * time.Millisecond)
	window(time.Millisecond) // second update: 11.6
	if got := l.Stats().Limit; got != 11 {
		t.Fatalf("limit %d after two flat windows; want 11", got)
	}
}

func TestShedRatio(t *testing.T) {
	c := newFakeClock()
	l := fixedLimiter(c, 1, 0)
	admit(t, l)
	for range 3 {
		if _, err := l.enter(context.Background()); !IsRefusal(err) {
			t.Fatalf("err %v; want refusal", err)
		}
	}
	if got := l.ShedRatio(); got != 0.75 {
		t.Fatalf("shed ratio %v; want 0.75", got)
	}
	c.Advance(2 * time.Second)
	if got := l.ShedRatio(); got != 0 {
		t.Fatalf("shed ratio %v two seconds later; want 0", got)
	}
}

func TestConcurrentRequestsNeverExceedLimit(t *testing.T) {
	const limit = 3
	l := New(Options{Fixed: limit, MaxQueue: 4})
	var cur, peak, admitted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				tk, err := l.Acquire(context.Background())
				if err != nil {
					if !IsRefusal(err) {
						t.Errorf("unexpected error %v", err)
					}
					refused.Add(1)
					continue
				}
				n := cur.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				admitted.Add(1)
				cur.Add(-1)
				tk.Release(true)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Fatalf("peak in flight %d; limit %d", p, limit)
	}
	s := wantStats(t, l, 0, 0)
	if got := int64(s.Admitted); got != admitted.Load() || admitted.Load()+refused.Load() != 64*200 {
		t.Fatalf("stats admitted %d, callers admitted %d refused %d; want %d in all", got, admitted.Load(), refused.Load(), 64*200)
	}
}

func TestAdmissionAndRefusalDoNotAllocate(t *testing.T) {
	l := New(Options{Fixed: 1, MaxQueue: 0})
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		tk, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tk.Release(true)
	}); n != 0 {
		t.Errorf("admission: %v allocations; want 0", n)
	}
	held, _ := l.Acquire(ctx)
	defer held.Release(false)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := l.Acquire(ctx); !IsRefusal(err) {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("refusal: %v allocations; want 0", n)
	}
}
