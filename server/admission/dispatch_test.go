package admission

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// dispatchLimiter is a one-at-a-time limiter in dispatch mode for as long
// as *high is true (the scheduler's latency it reads is 1 s, else 0).
func dispatchLimiter(t *testing.T, high *atomic.Bool, interval time.Duration) *Limiter {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("dispatch mode needs an eventfd")
	}
	return New(Options{Fixed: 1, MaxQueue: 8, QueueInterval: interval, Window: time.Nanosecond, Dispatch: true,
		SchedLatency: func() time.Duration {
			if high.Load() {
				return time.Second
			}
			return 0
		}})
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

type acquired struct {
	name string
	t    Ticket
	err  error
}

// Requests that wait while dispatching are admitted newest first, and the
// mode ends once nobody waits and the scheduler's latency is back down.
func TestDispatchAdmitsNewestFirst(t *testing.T) {
	var high atomic.Bool
	high.Store(true)
	l := dispatchLimiter(t, &high, time.Minute)
	first, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Dispatching || s.InFlight != 1 || s.Admitted != 1 {
		t.Fatalf("stats %+v; want one admitted through the dispatcher, which then stopped (nobody waits)", s)
	}
	got := make(chan acquired, 3)
	for i, name := range []string{"a", "b", "c"} {
		go func() {
			tk, err := l.Acquire(context.Background())
			got <- acquired{name, tk, err}
		}()
		waitFor(t, name+" to queue", func() bool { return l.Stats().Queued == i+1 })
	}
	if !l.Stats().Dispatching {
		t.Fatal("not dispatching while requests wait")
	}
	high.Store(false)
	first.Release(true)
	for _, want := range []string{"c", "b", "a"} {
		a := <-got
		if a.err != nil || a.name != want {
			t.Fatalf("admitted %q (err %v); want %q, newest first", a.name, a.err, want)
		}
		if s := l.Stats(); s.InFlight != 1 {
			t.Fatalf("stats %+v; want one in flight", s)
		}
		a.t.Release(true)
	}
	waitFor(t, "dispatch mode to end", func() bool { return !l.Stats().Dispatching })
	if s := l.Stats(); s.Admitted != 4 || s.InFlight != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v; want 4 admitted, none in flight or waiting", s)
	}
	// Back to the plain limiter: admitted at once.
	tk, err := l.Acquire(context.Background())
	if err != nil || l.Stats().Dispatching {
		t.Fatalf("after dispatch mode: %v, %+v", err, l.Stats())
	}
	tk.Release(true)
}

// A request that waited the queue interval in dispatch mode is refused
// (QueueTimeout); one beyond MaxQueue pushes out the oldest (QueueFull).
func TestDispatchRefusesTheOldest(t *testing.T) {
	var high atomic.Bool
	high.Store(true)
	const interval = 50 * time.Millisecond
	l := dispatchLimiter(t, &high, interval)
	held, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = l.Acquire(context.Background())
	var r *Refusal
	if !errors.As(err, &r) || r.Reason() != QueueTimeout {
		t.Fatalf("err %v; want a QueueTimeout refusal", err)
	}
	if el := time.Since(start); el < interval {
		t.Fatalf("refused after %v; want at least the interval %v", el, interval)
	}

	// Fill the queue (8) with long waits, then one more.
	l2 := dispatchLimiter(t, &high, time.Minute)
	held2, err := l2.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan acquired, 9)
	for i := range 9 {
		go func() {
			tk, err := l2.Acquire(context.Background())
			errs <- acquired{"", tk, err}
		}()
		waitFor(t, "queue to grow", func() bool { return l2.Stats().Queued == min(i+1, 8) && l2.Stats().NotAdmitted[QueueFull] == uint64(max(0, i-7)) })
	}
	a := <-errs
	if !errors.As(a.err, &r) || r.Reason() != QueueFull {
		t.Fatalf("err %v; want the oldest refused QueueFull", a.err)
	}
	high.Store(false)
	held2.Release(true)
	for range 8 {
		a := <-errs
		if a.err != nil {
			t.Fatal(a.err)
		}
		a.t.Release(true)
	}
	held.Release(true)
	waitFor(t, "both dispatchers to stop", func() bool { return !l.Stats().Dispatching && !l2.Stats().Dispatching })
}

// Without Dispatch the scheduler's latency is not read.
func TestNoDispatchWithoutTheOption(t *testing.T) {
	var reads atomic.Int64
	l := New(Options{Fixed: 1, MaxQueue: 8, Window: time.Nanosecond,
		SchedLatency: func() time.Duration { reads.Add(1); return time.Second }})
	for range 3 {
		tk, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tk.Release(true)
	}
	if n := reads.Load(); n != 0 || l.Stats().Dispatching {
		t.Fatalf("%d reads, dispatching %v; want none", n, l.Stats().Dispatching)
	}
}
