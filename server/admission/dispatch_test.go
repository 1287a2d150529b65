package admission

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// dispatchLimiter is a one-at-a-time limiter on c in dispatch mode from
// its first request for as long as *high is true (the scheduler's latency
// it reads is 1 s, else 0).
func dispatchLimiter(t *testing.T, c Clock, high *atomic.Bool, interval time.Duration, maxQueue int) *Limiter {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("dispatch mode needs an eventfd")
	}
	return New(Options{Fixed: 1, MaxQueue: maxQueue, QueueInterval: interval, Window: time.Nanosecond, Dispatch: true,
		SchedLatency: func() time.Duration {
			if high.Load() {
				return time.Second
			}
			return 0
		}, Clock: c})
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

// Requests that wait while dispatching are admitted newest first; the mode
// ends at the first dispatch that finds nobody waiting one queue interval
// after a request last waited.
func TestDispatchAdmitsNewestFirst(t *testing.T) {
	var high atomic.Bool
	high.Store(true)
	const interval = 10 * time.Millisecond
	c := newFakeClock()
	l := dispatchLimiter(t, c, &high, interval, 8)
	first, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); !s.Dispatching || s.InFlight != 1 || s.Admitted != 1 {
		t.Fatalf("stats %+v; want dispatching, one admitted", s)
	}
	got := make(chan acquired, 3)
	for i, name := range []string{"a", "b", "c"} {
		go func() {
			tk, err := l.Acquire(context.Background())
			got <- acquired{name, tk, err}
		}()
		waitFor(t, name+" to queue", func() bool { return l.Stats().Queued == i+1 })
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
	// Nobody waits, but a request waited less than an interval ago.
	tk, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tk.Release(true)
	if !l.Stats().Dispatching {
		t.Fatal("dispatch mode ended within an interval of a request waiting")
	}
	c.Advance(interval)
	if tk, err = l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	tk.Release(true)
	waitFor(t, "dispatch mode to end", func() bool { return !l.Stats().Dispatching })
	if s := l.Stats(); s.Admitted != 6 || s.InFlight != 0 || s.Queued != 0 {
		t.Fatalf("stats %+v; want 6 admitted, none in flight or waiting", s)
	}
}

// In dispatch mode a request that waited the queue interval is refused
// when admissions have earned a refusal (one per dispatchAdmitsPerRefusal),
// else after dispatchMaxHold intervals; one beyond MaxQueue pushes out the
// oldest (QueueFull).
func TestDispatchRefusesTheOldest(t *testing.T) {
	const interval = 10 * time.Millisecond
	c := newFakeClock()
	var high atomic.Bool
	high.Store(true)
	l := dispatchLimiter(t, c, &high, interval, 4)
	held, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan acquired, 8)
	wait := func(name string) {
		t.Helper()
		queued := l.Stats().Queued
		c.Advance(time.Nanosecond) // a new window: the latency is read again
		go func() {
			tk, err := l.Acquire(context.Background())
			got <- acquired{name, tk, err}
		}()
		waitFor(t, name+" to queue", func() bool { return l.Stats().Queued == queued+1 })
	}
	refused := func(name string, reason Reason) {
		t.Helper()
		a := <-got
		var r *Refusal
		if a.name != name || !errors.As(a.err, &r) || r.Reason() != reason {
			t.Fatalf("%s: err %v; want %s refused for %v", a.name, a.err, name, reason)
		}
	}

	// One admission so far: no refusal earned; held until 10 intervals.
	wait("x")
	c.Advance(2 * interval)
	if s := l.Stats(); s.Queued != 1 || s.NotAdmitted[QueueTimeout] != 0 {
		t.Fatalf("after 2 intervals: %+v; want x still waiting", s)
	}
	c.Advance(dispatchMaxHold*interval - 2*interval)
	refused("x", QueueTimeout)

	// Eight more admissions earn a refusal: the next aged waiter goes at
	// the interval.
	for i := range dispatchAdmitsPerRefusal {
		wait("y")
		held.Release(true)
		a := <-got
		if a.err != nil {
			t.Fatalf("admission %d: %v", i, a.err)
		}
		held = a.t
	}
	wait("z")
	c.Advance(interval)
	refused("z", QueueTimeout)

	// A full queue makes room by refusing its oldest.
	for _, name := range []string{"q0", "q1", "q2", "q3", "q4"} {
		wait(name)
		if name == "q3" {
			break
		}
	}
	go func() {
		tk, err := l.Acquire(context.Background())
		got <- acquired{"q4", tk, err}
	}()
	refused("q0", QueueFull)
	held.Release(true)
	for _, want := range []string{"q4", "q3", "q2", "q1"} {
		a := <-got
		if a.err != nil || a.name != want {
			t.Fatalf("admitted %q (%v); want %q", a.name, a.err, want)
		}
		a.t.Release(true)
	}
}

// A newest waiter that waited over 2 × target is refused rather than
// admitted while admissions have earned a refusal, and admitted otherwise.
func TestDispatchRefusesAStaleNewest(t *testing.T) {
	c := newFakeClock()
	var high atomic.Bool
	high.Store(true)
	l := dispatchLimiter(t, c, &high, time.Second, 8)
	held, err := l.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan acquired, 1)
	stale := func() acquired {
		go func() {
			tk, err := l.Acquire(context.Background())
			got <- acquired{"", tk, err}
		}()
		waitFor(t, "a waiter", func() bool { return l.Stats().Queued == 1 })
		c.Advance(2*DefaultQueueTarget + time.Millisecond)
		held.Release(true)
		return <-got
	}
	// One admission: no refusal earned, the stale waiter is served.
	a := stale()
	if a.err != nil {
		t.Fatal(a.err)
	}
	held = a.t
	for range dispatchAdmitsPerRefusal - 2 {
		a = stale()
		if a.err != nil {
			t.Fatal(a.err)
		}
		held = a.t
	}
	// The eighth admission earned one.
	a = stale()
	var r *Refusal
	if !errors.As(a.err, &r) || r.Reason() != QueueTimeout {
		t.Fatalf("err %v; want the stale waiter refused (QueueTimeout)", a.err)
	}
	if s := l.Stats(); s.Admitted != dispatchAdmitsPerRefusal || s.InFlight != 0 {
		t.Fatalf("stats %+v; want %d admitted, none in flight", s, dispatchAdmitsPerRefusal)
	}
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
