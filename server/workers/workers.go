// Package workers bounds how many requests a server works on at once
// (--rest_api_num_threads, --grpc_max_threads) and lets a request give its
// worker back while it only waits: a batching queue does so while its batch
// fills, so that the requests it waits for can be decoded and join it.
package workers

import (
	"context"
	"sync/atomic"
)

// Pool is a fixed number of request workers.
type Pool struct {
	sem     chan struct{}
	waiting atomic.Int64 // Take and TakeContext calls not yet served
}

// New returns a pool of n workers; n must be positive.
func New(n int) *Pool {
	return &Pool{sem: make(chan struct{}, n)}
}

// InUse returns the number of workers held now.
func (p *Pool) InUse() int { return len(p.sem) }

// Busy returns the number of requests that hold a worker or wait for one.
func (p *Pool) Busy() int { return len(p.sem) + int(p.waiting.Load()) }

// Take waits for a free worker and returns its slot, held.
func (p *Pool) Take() *Slot {
	s := new(Slot)
	p.TakeInto(s)
	return s
}

// TakeInto is Take into a slot the caller allocated, for example inside
// its per-request state, to save an allocation per request. s must be a
// new (zero) Slot: one slot is never taken twice.
func (p *Pool) TakeInto(s *Slot) {
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	p.sem <- struct{}{}
	s.p = p
	s.held.Store(true)
}

// TakeContext is Take that gives up when ctx ends.
func (p *Pool) TakeContext(ctx context.Context) (*Slot, error) {
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	select {
	case p.sem <- struct{}{}:
		s := &Slot{p: p}
		s.held.Store(true)
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Slot is one request's claim on a worker. A request's handler releases it
// when done; code that waits without computing may release it earlier and
// reacquire it to go on.
type Slot struct {
	p    *Pool
	held atomic.Bool
}

// Release gives the worker back; it does nothing when the slot is not held,
// so a handler can always defer it.
func (s *Slot) Release() {
	if s != nil && s.held.CompareAndSwap(true, false) {
		<-s.p.sem
	}
}

// Reacquire waits for a worker again. When ctx ends first it returns ctx's
// error and the request goes on without a worker.
func (s *Slot) Reacquire(ctx context.Context) error {
	if s == nil || s.held.Load() {
		return nil
	}
	select {
	case s.p.sem <- struct{}{}:
		s.held.Store(true)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pool returns the pool the slot belongs to.
func (s *Slot) Pool() *Pool { return s.p }

// Held reports whether the slot holds a worker.
func (s *Slot) Held() bool { return s != nil && s.held.Load() }

type slotKey struct{}

// NewContext returns ctx carrying s, for the models that the request runs.
func NewContext(ctx context.Context, s *Slot) context.Context {
	if s == nil {
		return ctx
	}
	return context.WithValue(ctx, slotKey{}, s)
}

// IsContextKey reports whether key is the context key NewContext stores a
// slot under: a context type that carries the slot itself (without
// context.WithValue) answers its Value(key) with the slot.
func IsContextKey(key any) bool {
	_, ok := key.(slotKey)
	return ok
}

// FromContext returns the request's slot, or nil when its server bounds no
// workers.
func FromContext(ctx context.Context) *Slot {
	s, _ := ctx.Value(slotKey{}).(*Slot)
	return s
}
