package admission

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tfserve/tfserve/servable/status"
)

// shedRig drives a ConnShedder with a fake clock, a settable scheduling
// latency and settable request sojourns by connection id.
type shedRig struct {
	t       *testing.T
	clock   *fakeClock
	latency time.Duration
	sojourn map[uint64]time.Duration
	c       *ConnShedder
}

const rigWindow = 100 * time.Millisecond

func newShedRig(t *testing.T, minConns int) *shedRig {
	r := &shedRig{t: t, clock: newFakeClock(), sojourn: map[uint64]time.Duration{}}
	r.c = NewConnShedder(ConnOptions{Target: 5 * time.Millisecond, Window: rigWindow, Min: minConns, AcceptRate: 100,
		Clock: r.clock, Latency: func() time.Duration { return r.latency },
		Sojourn: func(c net.Conn) time.Duration { return r.sojourn[uint64(c.(idConn))] }})
	return r
}

// idConn stands for connection id in Sojourn.
type idConn uint64

func (idConn) Read([]byte) (int, error)         { return 0, nil }
func (idConn) Write([]byte) (int, error)        { return 0, nil }
func (idConn) Close() error                     { return nil }
func (idConn) LocalAddr() net.Addr              { return nil }
func (idConn) RemoteAddr() net.Addr             { return nil }
func (idConn) SetDeadline(time.Time) error      { return nil }
func (idConn) SetReadDeadline(time.Time) error  { return nil }
func (idConn) SetWriteDeadline(time.Time) error { return nil }

// window ends the current window with the given latency (read at the
// first request after it), then sends one request on each of ids and
// returns the verdicts.
func (r *shedRig) window(latency time.Duration, ids ...uint64) []Verdict {
	r.clock.Advance(rigWindow)
	r.latency = latency
	out := make([]Verdict, len(ids))
	for i, id := range ids {
		out[i] = r.c.Shed(id, idConn(id))
	}
	return out
}

func ids(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func count(vs []Verdict, v Verdict) int {
	n := 0
	for _, x := range vs {
		if x == v {
			n++
		}
	}
	return n
}

func TestConnShedderModes(t *testing.T) {
	r := newShedRig(t, 2)
	// Normal: low latency, nothing is shed, nothing recorded.
	if vs := r.window(time.Millisecond, ids(1, 8)...); count(vs, Serve) != 8 {
		t.Fatalf("normal: %v", vs)
	}
	// Over the target: the first window only watches who is served.
	if vs := r.window(20*time.Millisecond, ids(1, 8)...); count(vs, Serve) != 8 {
		t.Fatalf("watching: %v", vs)
	}
	// Still over: shedding starts with the 8 incumbents, the budget scaled
	// by target/latency = 1/4 → 2, the oldest kept.
	vs := r.window(20*time.Millisecond, ids(1, 9)...)
	want := []Verdict{Serve, Serve, CloseConn, CloseConn, CloseConn, CloseConn, CloseConn, CloseConn, CloseConn}
	if fmt.Sprint(vs) != fmt.Sprint(want) {
		t.Fatalf("shedding: %v; want %v", vs, want)
	}
	if s := r.c.Stats(); !s.Shedding || s.Budget != 2 || s.Latency != 20*time.Millisecond {
		t.Fatalf("stats %+v", s)
	}
	// Between half the target and the target: the budget holds.
	if vs := r.window(4*time.Millisecond, 1, 2, 3); fmt.Sprint(vs) != fmt.Sprint([]Verdict{Serve, Serve, CloseConn}) {
		t.Fatalf("holding: %v", vs)
	}
	// Below half: the budget grows by a quarter + 1 (to 3), up to twice the
	// incumbents + Min; a newcomer whose request waited over the target is
	// admitted but its request refused; one that did not wait is served.
	r.sojourn[10] = 6 * time.Millisecond
	if vs := r.window(time.Millisecond, 1, 2, 10, 10, 11); fmt.Sprint(vs) != fmt.Sprint([]Verdict{Serve, Serve, Refuse, Serve, CloseConn}) {
		t.Fatalf("growing: %v", vs)
	}
	if s := r.c.Stats(); s.Budget != 3 {
		t.Fatalf("budget %d; want 3", s.Budget)
	}
	// An incumbent that sent nothing for a window is forgotten.
	if vs := r.window(time.Millisecond, 1, 10, 12); fmt.Sprint(vs) != fmt.Sprint([]Verdict{Serve, Serve, Serve}) {
		t.Fatalf("after 2 left: %v", vs)
	}
	// A quiet window with nothing shed and the accept loop idle ends it.
	if vs := r.window(time.Millisecond, 1); vs[0] != Serve {
		t.Fatal(vs)
	}
	if vs := r.window(time.Millisecond, ids(20, 40)...); count(vs, Serve) != 21 || r.c.Stats().Shedding {
		t.Fatalf("back to normal: %v, %+v", vs, r.c.Stats())
	}
}

// A budget never falls below Min, and scales down by an eighth at most
// when the latency is far over the target.
func TestConnShedderBudgetBounds(t *testing.T) {
	r := newShedRig(t, 5)
	r.window(time.Second, ids(1, 100)...)
	r.window(time.Second, ids(1, 100)...)
	if b := r.c.Stats().Budget; b != 12 { // 100 × 1/8
		t.Fatalf("budget %d; want 12", b)
	}
	r.window(time.Second, ids(1, 100)...)
	if b := r.c.Stats().Budget; b != 5 { // 12 × 1/8 = 1, floored at Min
		t.Fatalf("budget %d; want 5", b)
	}
	if vs := r.window(time.Second, ids(1, 10)...); count(vs[:5], Serve) != 5 || count(vs[5:], CloseConn) != 5 {
		t.Fatalf("at Min: %v", vs)
	}
}

// While shedding, the accept loop takes connections at AcceptRate at most,
// and shedding does not end while it is held back.
func TestConnShedderThrottlesAccepts(t *testing.T) {
	r := newShedRig(t, 1)
	if d := r.c.acceptWait(r.clock.Now()); d != 0 {
		t.Fatalf("normal: wait %v", d)
	}
	r.window(time.Second, 1, 2)
	r.window(time.Second, 1, 2)
	if !r.c.Stats().Shedding {
		t.Fatal("not shedding")
	}
	now := r.clock.Now()
	r.c.lastAccept.Store(now.UnixNano())
	if d := r.c.acceptWait(now.Add(3 * time.Millisecond)); d != 7*time.Millisecond { // 100/s: 10 ms apart
		t.Fatalf("wait %v; want 7ms", d)
	}
	if d := r.c.acceptWait(now.Add(12 * time.Millisecond)); d > 0 {
		t.Fatalf("wait %v after the interval; want none", d)
	}
	// 5 accepts in a 100 ms window at 100/s is half the rate: held back.
	r.c.accepts.Store(5)
	r.window(time.Millisecond, 1)
	if !r.c.Stats().Shedding {
		t.Fatal("shedding ended while the accept loop was held back")
	}
	r.window(time.Millisecond, 1)
	if r.c.Stats().Shedding {
		t.Fatal("shedding did not end")
	}
}

func TestQuantile(t *testing.T) {
	buckets := []float64{0, 1e-6, 1e-3, 1e-2, math.Inf(1)}
	for _, c := range []struct {
		counts []uint64
		q      float64
		want   time.Duration
	}{
		{[]uint64{0, 0, 0, 0}, 0.9, 0},
		{[]uint64{90, 10, 0, 0}, 0.9, time.Microsecond},
		{[]uint64{89, 11, 0, 0}, 0.9, time.Millisecond},
		{[]uint64{0, 0, 0, 3}, 0.9, 10 * time.Millisecond}, // unbounded: the lower bound
		{[]uint64{1, 0, 1, 0}, 0.5, time.Microsecond},
	} {
		if got := quantile(c.counts, buckets, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v; want %v", c.counts, c.q, got, c.want)
		}
	}
}

// Goroutines that wait for the one thread show up in the runtime's
// histogram: 50 on GOMAXPROCS=1, each yielding after 100 µs of work, wait
// about 5 ms for each turn.
func TestSchedLatencySeesContention(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := NewSchedLatency(0.5)
	s.Read()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				for end := time.Now().Add(100 * time.Microsecond); time.Now().Before(end); {
				}
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	if d := s.Read(); d < time.Millisecond {
		t.Errorf("median scheduling latency %v under contention; want ≥ 1ms", d)
	}
}

// Sojourn reads how long ago the request arrived from the kernel.
func TestSojourn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(s).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	// The kernel counts in jiffies (4 ms at HZ=250).
	if d := Sojourn(s); d < 20*time.Millisecond || d > 10*time.Second {
		t.Errorf("Sojourn %v; want about 30ms since the data arrived", d)
	}
	if d := Sojourn(idConn(1)); d != -1 {
		t.Errorf("Sojourn of a non-socket %v; want -1", d)
	}
}

// A client with MaxPerClient requests admitted or waiting is refused at
// once with ClientLimit (HTTP 429, not in the shed ratio), and its count
// goes down as its requests end, admitted or abandoned.
func TestMaxPerClient(t *testing.T) {
	l := New(Options{Fixed: 1, MaxQueue: 4, MaxPerClient: 2, Clock: newFakeClock()})
	a := netip.MustParseAddr("10.0.0.1")
	queue := func(ctx context.Context) chan result {
		ch := make(chan result, 1)
		q := l.Stats().Queued
		go func() { t, err := l.AcquireFrom(ctx, a); ch <- result{t, err} }()
		for end := time.Now().Add(5 * time.Second); l.Stats().Queued != q+1; runtime.Gosched() {
			select {
			case r := <-ch:
				t.Fatalf("not queued: %v", r.err)
			default:
			}
			if time.Now().After(end) {
				t.Fatal("not queued after 5s")
			}
		}
		return ch
	}
	t1, err := l.AcquireFrom(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	abandoned := queue(ctx)
	_, err = l.AcquireFrom(context.Background(), a)
	if code, closeConn := HTTPStatus(err); code != 429 || closeConn || !IsRefusal(err) ||
		err.Error() != "Too many requests from this client: 2 already run or wait (--admission_max_in_flight_per_client=2); retry later" {
		t.Fatalf("third from a: %v (HTTP %d)", err, code)
	}
	cancel()
	if r := <-abandoned; status.CodeOf(r.err) != status.Cancelled {
		t.Fatalf("abandoned: %v", r.err)
	}
	// The abandoned request no longer counts: a may queue another.
	next := queue(context.Background())
	t1.Release(true)
	r := <-next
	if r.err != nil {
		t.Fatalf("a's queued request after t1: %v", r.err)
	}
	r.t.Release(true)
	if n := len(l.clients); n != 0 {
		t.Errorf("%d clients tracked with nothing in flight; want 0", n)
	}
	if s := l.Stats(); s.NotAdmitted[ClientLimit] != 1 || s.Admitted != 2 {
		t.Errorf("stats %+v; want 1 client_limit, 2 admitted", s)
	}
	if r := l.ShedRatio(); r != 0 {
		t.Errorf("shed ratio %v; a client's own limit is not the server's overload", r)
	}
}

type result struct {
	t   Ticket
	err error
}
