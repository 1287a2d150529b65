package manager

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/panics"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// version is one loaded model version with its request reference count.
// refs >= 0 counts holders; -1 means retired (closed or closing).
type version struct {
	num      int64
	model    servable.Model
	log      *slog.Logger
	refs     atomic.Int64
	draining atomic.Bool
	drained  chan struct{} // signalled when refs drops to 0 while draining
	calls    sync.Pool     // *runCall
}

func newVersion(num int64, m servable.Model, log *slog.Logger) *version {
	return &version{num: num, model: m, log: log, drained: make(chan struct{}, 1)}
}

// acquire takes a reference unless the version is retired.
func (v *version) acquire() bool {
	for {
		r := v.refs.Load()
		if r < 0 {
			return false
		}
		if v.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (v *version) release() {
	if v.refs.Add(-1) == 0 && v.draining.Load() {
		select {
		case v.drained <- struct{}{}:
		default:
		}
	}
}

// retire waits until no request holds the version, then marks it retired so
// that it can never be acquired again. The version must already be out of
// the serving snapshot.
func (v *version) retire() {
	v.draining.Store(true)
	t := time.NewTicker(50 * time.Millisecond) // belt and braces for a missed signal
	defer t.Stop()
	for !v.refs.CompareAndSwap(0, -1) {
		select {
		case <-v.drained:
		case <-t.C:
		}
	}
}

// Handle is a reference to one AVAILABLE model version, returned by
// Manager.Get. The version is not unloaded while a handle is held; call
// Release exactly once when done. The zero Handle is invalid.
type Handle struct {
	v    *version
	name string
}

// Name is the model name.
func (h Handle) Name() string { return h.name }

// Version is the version number.
func (h Handle) Version() int64 { return h.v.num }

// Model is the loaded model. Prefer Handle.Run, which adds deadline and panic
// handling.
func (h Handle) Model() servable.Model { return h.v.model }

// Signatures returns the model's signatures.
func (h Handle) Signatures() map[string]*servable.Signature { return h.v.model.Signatures() }

// Release gives the reference back.
func (h Handle) Release() { h.v.release() }

type runResult struct {
	out map[string]*tensor.Tensor
	err error
}

// Run evaluates a signature. A panic inside the model becomes an Internal
// error. If ctx has a deadline or can be cancelled, Run stops waiting when it
// ends (DeadlineExceeded or Cancelled) even if the model keeps computing; the
// version stays referenced until the model returns.
func (h Handle) Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	// Cooperative models first: they never need ctx.Done(), which a
	// context may have to allocate.
	if c, ok := h.v.model.(servable.Cooperative); ok && c.Cooperative() {
		// The model returns soon after ctx ends: no goroutine needed.
		if err := ctx.Err(); err != nil {
			return nil, contextError(err)
		}
		out, err := h.safeRun(ctx, signature, inputs, outputs)
		if err != nil && ctx.Err() != nil {
			return nil, contextError(ctx.Err())
		}
		return out, err
	}
	if ctx.Done() == nil {
		return h.safeRun(ctx, signature, inputs, outputs)
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	h.v.refs.Add(1) // the caller holds one, so the version is not retired
	call, _ := h.v.calls.Get().(*runCall)
	if call == nil {
		call = &runCall{done: make(chan runResult, 1)}
	}
	call.h, call.ctx, call.sig, call.in, call.out = h, ctx, signature, inputs, outputs
	go call.run()
	select {
	case r := <-call.done:
		*call = runCall{done: call.done}
		h.v.calls.Put(call)
		return r.out, r.err
	case <-ctx.Done():
		// The model keeps the call (and its reference) until it returns;
		// the call is not reused.
		return nil, contextError(ctx.Err())
	}
}

// runCall is one asynchronous model run; reused through version.calls when
// the caller received its result.
type runCall struct {
	h    Handle
	ctx  context.Context
	sig  string
	in   map[string]*tensor.Tensor
	out  []string
	done chan runResult
}

func (c *runCall) run() {
	h := c.h
	defer h.v.release()
	out, err := h.safeRun(c.ctx, c.sig, c.in, c.out)
	c.done <- runResult{out, err}
}

func (h Handle) safeRun(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, outputs []string) (out map[string]*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			out = nil
			err = panics.Error(h.v.log, r, "model Run", "model", h.name, "version", h.v.num, "signature", signature)
		}
	}()
	out, err = h.v.model.Run(ctx, signature, inputs, outputs)
	if err != nil && ctx.Err() != nil && status.CodeOf(err) == status.Unknown {
		err = contextError(ctx.Err())
	}
	return out, err
}

func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return status.New(status.DeadlineExceeded, "Deadline Exceeded")
	}
	return status.New(status.Cancelled, "Cancelled")
}
