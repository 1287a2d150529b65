package rnn

import (
	"errors"
	"fmt"
	"sync"
)

// Layer is a packed GRU or LSTM layer (*GRU or *LSTM).
type Layer interface {
	Forward(ws *Workspace, a *Args) error
	InputSize() int
	Units() int
	base() *layer
}

func (l *layer) base() *layer { return l }

// MinPartFlops is the least work worth a part (and a goroutine) of its own
// in Pool.Forward: about 100 µs at this machine's SGEMM speed. Smaller parts
// lost more to waking a goroutine on a busy server than they gained
// (christopher_stock's batches of 16 rows, 6 MFLOP, ran 0.71× as fast split
// in two at concurrency 16).
const MinPartFlops = 8 << 20

// Pool hands out Workspaces to Forward calls and their parts. The zero
// value is ready to use; a Pool is safe for concurrent use.
type Pool struct{ p sync.Pool }

// Get returns a Workspace from the pool, or a new one.
func (p *Pool) Get() *Workspace {
	if ws, ok := p.p.Get().(*Workspace); ok {
		return ws
	}
	return new(Workspace)
}

// Put returns ws to the pool.
func (p *Pool) Put(ws *Workspace) { p.p.Put(ws) }

// Parts returns the number of parts Pool.Forward splits a call of batch
// rows and steps steps into on procs cores: at most one per core and per
// row, and each part of at least MinPartFlops.
func Parts(l Layer, batch, steps, procs int) int {
	b := l.base()
	rowFlops := 2 * steps * b.gates * (b.input + b.units)
	if batch <= 1 || procs <= 1 || rowFlops <= 0 {
		return 1
	}
	return max(1, min(procs, batch, batch*rowFlops/MinPartFlops))
}

// Forward runs l over a's batch rows, split into Parts(l, a.Batch,
// a.Steps, procs) parts of consecutive rows that run on separate
// goroutines (the calling one runs the first), each with a Workspace of the
// pool: a call of many rows then uses several cores, as TensorFlow's
// intra-op threads do. Rows are independent, so the result is that of
// l.Forward on the whole call up to float rounding (SGEMM rounds rows in
// blocks of four differently from lone rows, as batching does when it
// changes a request's neighbours). procs is the number of cores the call
// may use, usually runtime.GOMAXPROCS(0).
func (p *Pool) Forward(l Layer, a *Args, procs int) error {
	parts := Parts(l, a.Batch, a.Steps, procs)
	run := func(a *Args) error {
		ws := p.Get()
		defer p.Put(ws)
		return l.Forward(ws, a)
	}
	if parts <= 1 {
		return run(a)
	}
	b := l.base()
	lstm := b.gates == 4*b.units
	if err := a.check(b.input, b.units, lstm); err != nil { // before slicing rows out of a
		if lstm {
			return fmt.Errorf("lstm: %w", err)
		}
		return fmt.Errorf("gru: %w", err)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := 1; i < parts; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run(a.Rows(i*a.Batch/parts, (i+1)*a.Batch/parts, b.input, b.units))
		}()
	}
	errs[0] = run(a.Rows(0, a.Batch/parts, b.input, b.units))
	wg.Wait()
	return errors.Join(errs...)
}
