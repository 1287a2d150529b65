package restapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

type ctxKey struct{}

func TestRunCtxExpires(t *testing.T) {
	var d runDeadlines
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	start := time.Now()
	c := d.start(parent, start.Add(30*time.Millisecond))
	defer c.stop()
	if dl, ok := c.Deadline(); !ok || !dl.Equal(start.Add(30*time.Millisecond)) {
		t.Fatalf("Deadline = %v, %v", dl, ok)
	}
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("Value does not reach the parent")
	}
	// Err is nil until the deadline; a machine slow enough to pass it by
	// now may already see it expired.
	if err := c.Err(); err != nil && time.Now().Before(start.Add(30*time.Millisecond)) {
		t.Fatalf("Err before the deadline: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the deadline")
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("Done closed after %v, before the deadline", el)
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", c.Err())
	}
	c.stop() // after expiry: Err stays DeadlineExceeded
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after stop = %v", c.Err())
	}
	if d.live != 0 || len(d.q)-d.head != 0 {
		t.Fatalf("queue holds %d (live %d)", len(d.q)-d.head, d.live)
	}
}

func TestRunCtxStop(t *testing.T) {
	var d runDeadlines
	c := d.start(context.Background(), time.Now().Add(time.Hour))
	done := c.Done()
	c.stop()
	select {
	case <-done:
	default:
		t.Fatal("Done not closed by stop")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v, want Canceled", c.Err())
	}
	// Done asked for after stop is closed too.
	c2 := d.start(context.Background(), time.Now().Add(time.Hour))
	c2.stop()
	select {
	case <-c2.Done():
	default:
		t.Fatal("Done made after stop is open")
	}
	if d.live != 0 || len(d.q)-d.head != 0 {
		t.Fatalf("queue holds %d (live %d)", len(d.q)-d.head, d.live)
	}
}

// TestRunCtxOrder starts contexts with deadlines out of order and stops
// some: each live one ends at its own deadline, not before, and stopped
// ones stay Canceled (those stopped before their deadline; on a machine
// slow enough to reach the deadline first, either answer is right).
func TestRunCtxOrder(t *testing.T) {
	var d runDeadlines
	base := time.Now().Add(100 * time.Millisecond)
	r := rand.New(rand.NewPCG(1, 2))
	var cs []*runCtx
	stoppedEarly := map[int]bool{}
	for i := range 40 {
		c := d.start(context.Background(), base.Add(time.Duration(r.IntN(40))*time.Millisecond))
		cs = append(cs, c)
		if i%3 == 0 {
			c.stop()
			stoppedEarly[i] = time.Now().Before(c.deadline)
		}
	}
	for i, c := range cs {
		if i%3 == 0 {
			continue
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("context %d not ended 5 s after its deadline", i)
		}
		dl, _ := c.Deadline()
		if now := time.Now(); now.Before(dl) {
			t.Fatalf("context %d ended %v before its deadline", i, dl.Sub(now))
		}
		if !errors.Is(c.Err(), context.DeadlineExceeded) {
			t.Fatalf("context %d: Err = %v", i, c.Err())
		}
	}
	for i := 0; i < len(cs); i += 3 {
		err := cs[i].Err()
		if !errors.Is(err, context.Canceled) && (stoppedEarly[i] || !errors.Is(err, context.DeadlineExceeded)) {
			t.Fatalf("stopped context %d: Err = %v (stopped before its deadline: %v)", i, err, stoppedEarly[i])
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live != 0 || len(d.q)-d.head != 0 {
		t.Fatalf("queue holds %d (live %d)", len(d.q)-d.head, d.live)
	}
}

// TestRunCtxCompact: a long run at the head does not keep every later
// (finished) request queued.
func TestRunCtxCompact(t *testing.T) {
	var d runDeadlines
	long := d.start(context.Background(), time.Now().Add(time.Hour))
	defer long.stop()
	for range 10_000 {
		d.start(context.Background(), time.Now().Add(time.Hour)).stop()
	}
	d.mu.Lock()
	n, live := len(d.q)-d.head, d.live
	d.mu.Unlock()
	if live != 1 || n > 65 {
		t.Fatalf("queue holds %d contexts, %d live; want 1 live and at most 65", n, live)
	}
}

// TestRunCtxConcurrent runs starts, stops and expiries from many
// goroutines (go test -race checks the locking).
func TestRunCtxConcurrent(t *testing.T) {
	var d runDeadlines
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				c := d.start(context.Background(), time.Now().Add(time.Duration(10+(g+i)%7)*time.Millisecond))
				if i%2 == 0 {
					<-c.Done()
					if !errors.Is(c.Err(), context.DeadlineExceeded) {
						t.Errorf("Err = %v", c.Err())
					}
				}
				c.stop()
				if i%2 == 1 && !errors.Is(c.Err(), context.Canceled) && !errors.Is(c.Err(), context.DeadlineExceeded) {
					t.Errorf("Err after stop = %v", c.Err())
				}
			}
		})
	}
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live != 0 || len(d.q)-d.head != 0 {
		t.Fatalf("queue holds %d (live %d)", len(d.q)-d.head, d.live)
	}
}

// TestRunCtxSteadyLoad: with requests always in flight the queue is never
// empty; its array must still stay about as large as the requests in
// flight.
func TestRunCtxSteadyLoad(t *testing.T) {
	var d runDeadlines
	var inflight []*runCtx
	for i := range 100_000 {
		inflight = append(inflight, d.start(context.Background(), time.Now().Add(time.Hour)))
		if i >= 8 {
			inflight[0].stop()
			inflight = inflight[1:]
		}
	}
	d.mu.Lock()
	n := cap(d.q)
	d.mu.Unlock()
	if n > 512 {
		t.Fatalf("queue array holds %d slots for 9 requests in flight", n)
	}
	for _, c := range inflight {
		c.stop()
	}
}
