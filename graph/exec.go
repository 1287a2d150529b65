package graph

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// MaxLoopIterations bounds While loops so a bad model cannot spin forever.
const MaxLoopIterations = 10_000_000

// NodeError is a kernel failure, annotated with the node that failed.
type NodeError struct {
	Node string
	Op   string
	Err  error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("%s (op %s): %v", e.Node, e.Op, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// runState is the per-run scratch the plans of a session reuse.
type runState struct {
	slots []*tensor.Tensor
	// in holds a step's inputs while its kernel runs (a kernel's in
	// escapes through the call, so a stack array would move to the heap).
	in   []*tensor.Tensor
	kctx kernels.Context
}

func (s *Session) getRunState() *runState {
	if rs, ok := s.runs.Get().(*runState); ok {
		return rs
	}
	return &runState{slots: make([]*tensor.Tensor, 0, 64)}
}

// Run executes the plan on args (one per feed, in order) and returns the
// fetched values. It stops early when ctx is done.
func (p *Plan) Run(ctx context.Context, args []*tensor.Tensor) (out []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in %s: %v\n%s", p.name, r, debug.Stack())
		}
	}()
	rs := p.sess.getRunState()
	defer p.sess.runs.Put(rs)
	rs.kctx = kernels.Context{}
	return p.run(ctx, &rs.kctx, args)
}

// RunCharged is Run with every tensor a kernel allocates charged to take
// (its bytes) before it is allocated; the first refusal stops the run with
// take's error. The loader runs restore and init plans this way, so a model
// whose init op would build a huge tensor fails its load instead of
// exhausting memory.
func (p *Plan) RunCharged(ctx context.Context, args []*tensor.Tensor, take func(bytes int64) error) (out []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in %s: %v\n%s", p.name, r, debug.Stack())
		}
	}()
	kctx := &kernels.Context{Alloc: func(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
		if err := take(tensorBytes(dt, shape)); err != nil {
			panic(err) // kernels recover it as their error
		}
		return tensor.New(dt, shape)
	}}
	return p.run(ctx, kctx, args)
}

func (p *Plan) run(ctx context.Context, kctx *kernels.Context, args []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(args) != len(p.argSlots) {
		return nil, fmt.Errorf("%s takes %d inputs, got %d", p.name, len(p.argSlots), len(args))
	}
	rs := p.sess.getRunState()
	slots := rs.slots
	if cap(slots) < p.numSlots {
		slots = make([]*tensor.Tensor, p.numSlots)
	} else {
		slots = slots[:p.numSlots]
	}
	defer func() {
		clear(slots)
		rs.slots = slots[:0]
		clear(rs.in[:cap(rs.in)])
		rs.in = rs.in[:0]
		p.sess.runs.Put(rs)
	}()
	for i, s := range p.argSlots {
		slots[s] = args[i]
	}
	for si := range p.steps {
		st := &p.steps[si]
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		in := rs.in[:0]
		for _, s := range st.in {
			v := slots[s]
			if v == nil {
				return nil, &NodeError{Node: st.node.Name, Op: st.node.Op, Err: errors.New("input has no value")}
			}
			in = append(in, v)
		}
		rs.in = in
		outs, err := p.exec(ctx, kctx, st, in)
		if err != nil {
			var ne *NodeError
			if errors.As(err, &ne) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			return nil, &NodeError{Node: st.node.Name, Op: st.node.Op, Err: err}
		}
		if len(outs) < st.nout {
			return nil, &NodeError{Node: st.node.Name, Op: st.node.Op, Err: fmt.Errorf("produced %d outputs, want %d", len(outs), st.nout)}
		}
		for i := 0; i < st.nout; i++ {
			slots[st.out+i] = outs[i]
		}
		for _, s := range st.release {
			slots[s] = nil
		}
	}
	res := make([]*tensor.Tensor, len(p.retSlots))
	for i, s := range p.retSlots {
		if slots[s] == nil {
			return nil, fmt.Errorf("%s: result %s has no value", p.name, p.retNames[i])
		}
		res[i] = slots[s]
	}
	return res, nil
}

func (p *Plan) exec(ctx context.Context, kctx *kernels.Context, st *step, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	switch st.kind {
	case stepKernel:
		return st.fn(kctx, in)
	case stepConst:
		return st.constOut, nil
	case stepNoOp:
		return nil, nil
	case stepPlaceholder:
		return nil, fmt.Errorf("you must feed a value for placeholder tensor '%s'", st.node.Name)
	case stepResource:
		t, err := p.sess.resource(st.node, func() (*tensor.Tensor, error) {
			if st.fn == nil {
				return kernels.VariableTensor(kernels.NewVariable(nil)), nil
			}
			outs, err := st.fn(kctx, in)
			if err != nil {
				return nil, err
			}
			if len(outs) != 1 {
				return nil, fmt.Errorf("resource op returned %d outputs", len(outs))
			}
			return outs[0], nil
		})
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	case stepCall:
		return st.callee.run(ctx, kctx, append([]*tensor.Tensor(nil), in...))
	case stepIf:
		c, err := kernels.Truth(in[0])
		if err != nil {
			return nil, err
		}
		b := st.branch[1]
		if c {
			b = st.branch[0]
		}
		return b.run(ctx, kctx, append([]*tensor.Tensor(nil), in[1:]...))
	case stepCase:
		idx, err := scalarInt(in[0])
		if err != nil {
			return nil, err
		}
		if idx < 0 || idx >= len(st.branch) {
			idx = len(st.branch) - 1 // TF runs the last branch as default.
		}
		return st.branch[idx].run(ctx, kctx, append([]*tensor.Tensor(nil), in[1:]...))
	case stepWhile:
		vars := append([]*tensor.Tensor(nil), in...)
		for iter := 0; ; iter++ {
			if iter >= MaxLoopIterations {
				return nil, fmt.Errorf("While loop exceeded %d iterations", MaxLoopIterations)
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			cv, err := st.cond.run(ctx, kctx, vars)
			if err != nil {
				return nil, err
			}
			c, err := kernels.Truth(cv[0])
			if err != nil {
				return nil, fmt.Errorf("While condition: %w", err)
			}
			if !c {
				return vars, nil
			}
			vars, err = st.body.run(ctx, kctx, vars)
			if err != nil {
				return nil, err
			}
		}
	}
	return nil, fmt.Errorf("unknown step kind %d", st.kind)
}

func scalarInt(t *tensor.Tensor) (int, error) {
	switch d := t.Data.(type) {
	case []int32:
		if len(d) == 1 {
			return int(d[0]), nil
		}
	case []int64:
		if len(d) == 1 {
			return int(d[0]), nil
		}
	}
	return 0, fmt.Errorf("branch index must be an int32 scalar, got %v", t)
}
