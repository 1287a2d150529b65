// Package batching merges concurrent requests to a model into larger
// batches, as TF Serving's BatchingSession does: one queue per model and
// signature, batches closed when full or when batch_timeout_micros passes,
// a shared pool of batch threads, a bound on enqueued batches (a full queue
// answers UNAVAILABLE, HTTP 503), padding to allowed_batch_sizes, and
// results split back row by row so a response only ever holds its own rows.
package batching

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/panics"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/workers"
	"github.com/tfserve/tfserve/tensor"
)

// Params are TF Serving's BatchingParameters.
type Params struct {
	MaxBatchSize            int
	BatchTimeout            time.Duration
	NumBatchThreads         int
	MaxEnqueuedBatches      int
	AllowedBatchSizes       []int
	PadVariableLengthInputs bool
	// Logger receives the value and stack of a model that panicked in a
	// batch thread (not a TF parameter); nil discards them.
	Logger *slog.Logger
}

// DefaultParams are TF's SharedBatchScheduler defaults.
func DefaultParams(cpus int) Params {
	return Params{MaxBatchSize: 1000, BatchTimeout: 0, NumBatchThreads: cpus, MaxEnqueuedBatches: 10}
}

// Validate checks the parameters as TF Serving does.
func (p Params) Validate() error {
	if p.MaxBatchSize <= 0 {
		return status.Errorf(status.InvalidArgument, "max_batch_size must be positive; was %d", p.MaxBatchSize)
	}
	if p.NumBatchThreads <= 0 {
		return status.Errorf(status.InvalidArgument, "num_batch_threads must be positive; was %d", p.NumBatchThreads)
	}
	if p.MaxEnqueuedBatches <= 0 {
		return status.Errorf(status.InvalidArgument, "max_enqueued_batches must be positive; was %d", p.MaxEnqueuedBatches)
	}
	if p.BatchTimeout < 0 {
		return status.Errorf(status.InvalidArgument, "batch_timeout_micros must be non-negative")
	}
	last := 0
	for _, s := range p.AllowedBatchSizes {
		if s <= last {
			return status.Errorf(status.InvalidArgument, "allowed_batch_sizes entries must be monotonically increasing")
		}
		last = s
	}
	if len(p.AllowedBatchSizes) > 0 && last != p.MaxBatchSize {
		return status.Errorf(status.InvalidArgument, "Last entry in allowed_batch_sizes must match max_batch_size; last entry was %d; expected %d", last, p.MaxBatchSize)
	}
	return nil
}

// Scheduler owns the batch threads shared by every wrapped model.
type Scheduler struct {
	p    Params
	work chan *batch
	wg   sync.WaitGroup
	once sync.Once
	busy atomic.Int32

	mu     sync.Mutex
	queues []*queue
}

// NewScheduler validates p and starts the batch threads.
func NewScheduler(p Params) (*Scheduler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{p: p, work: make(chan *batch, 1<<16)}
	for i := 0; i < p.NumBatchThreads; i++ {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for b := range s.work {
				s.busy.Add(1)
				s.runBatch(b)
				s.busy.Add(-1)
				s.flushOpen()
			}
		}()
	}
	return s, nil
}

// runBatch runs one batch on a batch thread. A panicking model becomes an
// INTERNAL "Internal error (id ...)" for every caller still waiting on the
// batch, logged once; the thread goes on with the next batch.
func (s *Scheduler) runBatch(b *batch) {
	defer b.q.m.inflight.Done()
	defer func() {
		if r := recover(); r != nil {
			err := panics.Error(s.p.Logger, r, "batched model Run", "signature", b.q.sig, "tasks", len(b.tasks))
			for _, t := range b.tasks {
				select {
				case t.done <- result{err: err}:
				default: // already answered
				}
			}
		}
	}()
	b.q.run(b)
}

// Close stops the batch threads after the queued batches ran.
func (s *Scheduler) Close() {
	s.once.Do(func() { close(s.work) })
	s.wg.Wait()
}

// Wrap returns a model whose Run calls are batched.
func (s *Scheduler) Wrap(m servable.Model) servable.Model {
	return &model{s: s, inner: m, queues: map[string]*queue{}}
}

type model struct {
	s      *Scheduler
	inner  servable.Model
	mu     sync.Mutex
	queues map[string]*queue
	// inflight counts the batches created and not yet run to the end. A
	// caller that gives up returns (and its manager handle is released)
	// while its batch may still run: Close waits for them.
	inflight sync.WaitGroup
}

func (m *model) Signatures() map[string]*servable.Signature { return m.inner.Signatures() }

// Close unregisters the model's queues, dispatches their open batches, waits
// for every batch of the model to finish (batches whose callers gave up
// included), and then closes the inner model, so that the inner model is
// never closed under a running batch.
func (m *model) Close() error {
	m.mu.Lock()
	mine := map[*queue]bool{}
	for _, q := range m.queues {
		mine[q] = true
	}
	m.mu.Unlock()
	for q := range mine {
		q.mu.Lock()
		if q.open != nil {
			q.closeLocked(q.open)
		}
		q.mu.Unlock()
	}
	m.s.mu.Lock()
	kept := m.s.queues[:0]
	for _, q := range m.s.queues {
		if !mine[q] {
			kept = append(kept, q)
		}
	}
	m.s.queues = kept
	m.s.mu.Unlock()
	m.inflight.Wait()
	return m.inner.Close()
}

// Cooperative: Run waits for its batch or for its context, whichever ends
// first (servable.Cooperative).
func (m *model) Cooperative() bool { return true }

// Unwrap returns the model being batched.
func (m *model) Unwrap() servable.Model { return m.inner }

func (m *model) queue(sig string) *queue {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, ok := m.queues[sig]
	if !ok {
		q = &queue{m: m, sig: sig}
		m.queues[sig] = q
		m.s.mu.Lock()
		m.s.queues = append(m.s.queues, q)
		m.s.mu.Unlock()
	}
	return q
}

type result struct {
	out map[string]*tensor.Tensor
	err error
}

type task struct {
	ctx     context.Context
	inputs  map[string]*tensor.Tensor
	outputs []string
	size    int
	done    chan result
	batch   *batch // the batch the task joined (guarded by its queue's mu)
}

type batch struct {
	q     *queue
	tasks []*task
	size  int
	key   string // input signature (names, dtypes, inner dims)
	timer *time.Timer
	// closed is set when the batch stops accepting tasks.
	closed bool
}

type queue struct {
	m        *model
	sig      string
	mu       sync.Mutex
	open     *batch
	enqueued int
}

// Run batches the request with others for the same signature.
func (m *model) Run(ctx context.Context, sig string, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error) {
	size, key, ok := batchable(inputs)
	if !ok {
		return m.inner.Run(ctx, sig, inputs, outputs)
	}
	if size > m.s.p.MaxBatchSize {
		return nil, status.Errorf(status.InvalidArgument, "Task size %d is larger than maximum input batch size %d", size, m.s.p.MaxBatchSize)
	}
	t := &task{ctx: ctx, inputs: inputs, outputs: outputs, size: size, done: make(chan result, 1)}
	q := m.queue(sig)
	if err := q.add(t, key); err != nil {
		return nil, err
	}
	// Waiting for the batch uses no CPU: give the request's worker back so
	// that the requests this batch waits for can be decoded and join it
	// (with --rest_api_num_threads workers held, batches could never grow
	// past that many requests).
	if slot := workers.FromContext(ctx); slot.Held() {
		slot.Release()
		defer func() { _ = slot.Reacquire(ctx) }()
		// No other request is being decoded or waits for a worker, so none
		// can join this batch before its timeout: run it now rather than
		// wait for nobody (with one client, batch_timeout_micros would
		// otherwise be added to every request).
		if m.s.p.BatchTimeout > 0 && slot.Pool().Busy() == 0 {
			q.closeEarly(t)
		}
	}
	select {
	case r := <-t.done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batchable reports the shared 0th dimension of the inputs and a key that
// only requests with the same inner shapes and dtypes share.
func batchable(inputs map[string]*tensor.Tensor) (int, string, bool) {
	if len(inputs) == 0 {
		return 0, "", false
	}
	names := make([]string, 0, len(inputs))
	for k := range inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	size := -1
	var b strings.Builder
	for _, n := range names {
		t := inputs[n]
		if len(t.Shape) == 0 || t.Shape[0] == 0 {
			return 0, "", false
		}
		if size >= 0 && t.Shape[0] != size {
			return 0, "", false
		}
		size = t.Shape[0]
		fmt.Fprintf(&b, "%s:%d%v;", n, t.DType, []int(t.Shape[1:]))
	}
	return size, b.String(), true
}

func (q *queue) add(t *task, key string) error {
	p := q.m.s.p
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open != nil && (q.open.key != key || q.open.size+t.size > p.MaxBatchSize) {
		q.closeLocked(q.open)
	}
	if q.open == nil {
		if q.enqueued >= p.MaxEnqueuedBatches {
			return status.New(status.Unavailable, "The batch scheduling queue to which this task was submitted is full")
		}
		b := &batch{q: q, key: key}
		q.open = b
		q.enqueued++
		q.m.inflight.Add(1)
		if p.BatchTimeout > 0 {
			b.timer = time.AfterFunc(p.BatchTimeout, func() {
				q.mu.Lock()
				defer q.mu.Unlock()
				q.closeLocked(b)
			})
		}
	}
	b := q.open
	t.batch = b
	b.tasks = append(b.tasks, t)
	b.size += t.size
	if b.size >= p.MaxBatchSize || p.BatchTimeout == 0 && q.m.s.idle() {
		q.closeLocked(b)
	}
	return nil
}

// idle reports whether a batch thread could take work now. With a zero
// timeout a batch is dispatched as soon as a thread is free, so batches
// form while every thread is busy.
func (s *Scheduler) idle() bool {
	return int(s.busy.Load())+len(s.work) < s.p.NumBatchThreads
}

// flushOpen dispatches the open batches of zero-timeout queues once a
// thread has become free.
func (s *Scheduler) flushOpen() {
	if s.p.BatchTimeout > 0 {
		return
	}
	s.mu.Lock()
	qs := append([]*queue(nil), s.queues...)
	s.mu.Unlock()
	for _, q := range qs {
		if !s.idle() {
			return
		}
		q.mu.Lock()
		if q.open != nil {
			q.closeLocked(q.open)
		}
		q.mu.Unlock()
	}
}

// closeEarly dispatches t's batch now if it is still open.
func (q *queue) closeEarly(t *task) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open != nil && q.open == t.batch {
		q.closeLocked(q.open)
	}
}

func (q *queue) closeLocked(b *batch) {
	if b.closed {
		return
	}
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
	if q.open == b {
		q.open = nil
	}
	q.m.s.work <- b
}

// run executes one batch and hands each task its rows.
func (q *queue) run(b *batch) {
	q.mu.Lock()
	q.enqueued--
	q.mu.Unlock()
	// Drop tasks whose callers gave up.
	live := b.tasks[:0]
	for _, t := range b.tasks {
		if t.ctx.Err() == nil {
			live = append(live, t)
		} else {
			t.done <- result{err: t.ctx.Err()}
		}
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		t := live[0]
		out, err := q.m.inner.Run(t.ctx, q.sig, t.inputs, t.outputs)
		t.done <- result{out, err}
		return
	}
	total := 0
	for _, t := range live {
		total += t.size
	}
	padded := total
	for _, s := range q.m.s.p.AllowedBatchSizes {
		if s >= total {
			padded = s
			break
		}
	}
	merged := map[string]*tensor.Tensor{}
	for name := range live[0].inputs {
		parts := make([]*tensor.Tensor, len(live))
		for i, t := range live {
			parts[i] = t.inputs[name]
		}
		merged[name] = concatRows(parts, padded)
	}
	ctx, cancel := mergedContext(live)
	out, err := q.m.inner.Run(ctx, q.sig, merged, nil)
	cancel()
	if err != nil {
		for _, t := range live {
			t.done <- result{err: err}
		}
		return
	}
	off := 0
	for _, t := range live {
		res := map[string]*tensor.Tensor{}
		var rerr error
		for name, v := range out {
			if len(t.outputs) > 0 && !slices.Contains(t.outputs, name) {
				continue
			}
			if len(v.Shape) == 0 || v.Shape[0] != padded {
				rerr = status.Errorf(status.FailedPrecondition, "Batched output tensor %s has 0th dimension %v, not the batch size %d", name, v.Shape, padded)
				break
			}
			res[name] = sliceRows(v, off, off+t.size)
		}
		off += t.size
		if rerr != nil {
			t.done <- result{err: rerr}
		} else {
			t.done <- result{out: res}
		}
	}
}

// mergedContext lives as long as the longest-lived caller: the batch stops
// only when every caller has gone.
func mergedContext(tasks []*task) (context.Context, context.CancelFunc) {
	var latest time.Time
	for _, t := range tasks {
		d, ok := t.ctx.Deadline()
		if !ok {
			return context.WithCancel(context.Background())
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.Background(), latest)
}

// concatRows stacks tensors along dimension 0, padding with copies of the
// first row up to rows.
func concatRows(parts []*tensor.Tensor, rows int) *tensor.Tensor {
	first := parts[0]
	shape := first.Shape.Clone()
	shape[0] = rows
	out := tensor.New(first.DType, shape)
	rowLen := 1
	for _, d := range first.Shape[1:] {
		rowLen *= d
	}
	off := 0
	for _, p := range parts {
		n := p.Len()
		copyRange(out.Data, off, p.Data, 0, n)
		off += n
	}
	for off < rows*rowLen {
		copyRange(out.Data, off, first.Data, 0, rowLen)
		off += rowLen
	}
	return out
}

// sliceRows copies rows [lo, hi) of t.
func sliceRows(t *tensor.Tensor, lo, hi int) *tensor.Tensor {
	rowLen := 1
	for _, d := range t.Shape[1:] {
		rowLen *= d
	}
	shape := t.Shape.Clone()
	shape[0] = hi - lo
	out := tensor.New(t.DType, shape)
	copyRange(out.Data, 0, t.Data, lo*rowLen, (hi-lo)*rowLen)
	return out
}

func copyRange(dst any, doff int, src any, soff, n int) {
	switch d := dst.(type) {
	case []float32:
		copy(d[doff:doff+n], src.([]float32)[soff:soff+n])
	case []float64:
		copy(d[doff:doff+n], src.([]float64)[soff:soff+n])
	case []int32:
		copy(d[doff:doff+n], src.([]int32)[soff:soff+n])
	case []int64:
		copy(d[doff:doff+n], src.([]int64)[soff:soff+n])
	case []uint8:
		copy(d[doff:doff+n], src.([]uint8)[soff:soff+n])
	case []int8:
		copy(d[doff:doff+n], src.([]int8)[soff:soff+n])
	case []int16:
		copy(d[doff:doff+n], src.([]int16)[soff:soff+n])
	case []uint16:
		copy(d[doff:doff+n], src.([]uint16)[soff:soff+n])
	case []uint32:
		copy(d[doff:doff+n], src.([]uint32)[soff:soff+n])
	case []uint64:
		copy(d[doff:doff+n], src.([]uint64)[soff:soff+n])
	case []bool:
		copy(d[doff:doff+n], src.([]bool)[soff:soff+n])
	case []string:
		copy(d[doff:doff+n], src.([]string)[soff:soff+n])
	case []any:
		copy(d[doff:doff+n], src.([]any)[soff:soff+n])
	default:
		panic(fmt.Sprintf("batching: unsupported tensor data %T", dst))
	}
}

// ParseParams reads a text BatchingParameters proto (the file given by
// --batching_parameters_file). Fields the text leaves out take TF's
// SharedBatchScheduler defaults (cpus is the default thread count).
func ParseParams(text []byte, cpus int) (Params, error) {
	bp := &servingpb.BatchingParameters{}
	if err := prototext.Unmarshal(text, bp); err != nil {
		return Params{}, status.Errorf(status.InvalidArgument, "parse batching parameters: %v", err)
	}
	p := DefaultParams(cpus)
	if bp.MaxBatchSize != nil {
		p.MaxBatchSize = int(bp.MaxBatchSize.Value)
	}
	if bp.BatchTimeoutMicros != nil {
		p.BatchTimeout = time.Duration(bp.BatchTimeoutMicros.Value) * time.Microsecond
	}
	if bp.MaxEnqueuedBatches != nil {
		p.MaxEnqueuedBatches = int(bp.MaxEnqueuedBatches.Value)
	}
	if bp.NumBatchThreads != nil {
		p.NumBatchThreads = int(bp.NumBatchThreads.Value)
	}
	for _, s := range bp.AllowedBatchSizes {
		p.AllowedBatchSizes = append(p.AllowedBatchSizes, int(s))
	}
	p.PadVariableLengthInputs = bp.PadVariableLengthInputs
	return p, p.Validate()
}
