package gorgonia

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// kernelNodeOps are the ops gorgonia has no equivalent of that run, on
// request-dependent numbers, as nodes of the ExprGraph calling tfserve's
// kernel (kernelOp): integer casts, top-k, lookups in hash tables with
// numeric keys, the ScaNN search (which calls package ann), and ReverseV2
// (data movement along an axis). Every other request-dependent op is
// lowered to gorgonia's own operators.
var kernelNodeOps = map[string]bool{
	"Cast":                      true,
	"TopKV2":                    true,
	"ReverseV2":                 true,
	"LookupTableFindV2":         true,
	"Scann>ScannSearchBatched":  true,
	"Scann>ScannSearch":         true,
	"Addons>ScannSearchBatched": true,
	"Addons>ScannSearch":        true,
}

// maxExactInt is the largest integer a float32 holds exactly: integers in
// the ExprGraph are integral float32 values (value.floatInt).
const maxExactInt = 1 << 24

// kernelArg is one input of a kernel run by the engine: a constant, or the
// value of a gorgonia node (dt and shape as tfserve sees it; floatInt when
// the node holds integers as float32).
type kernelArg struct {
	c        *tensor.Tensor
	dt       tensor.DType
	shape    tensor.Shape
	floatInt bool
}

// kernelOp is a gorgonia Op that runs one output of a tfserve kernel. Its
// gorgonia inputs are the node's request-dependent inputs, in order; the
// constant ones are held by the op. A kernel with two outputs (TopKV2)
// becomes two kernelOps, each running the kernel.
type kernelOp struct {
	node  string // the TF node, for errors and the op's hash
	fn    kernels.Func
	args  []kernelArg // all kernel inputs; c == nil for a gorgonia input
	out   int
	outDT tensor.DType
	shape tensor.Shape // tfserve's output shape
	gdt   gt.Dtype     // how the output is held in the graph
	in    []hm.Type
	kctx  *kernels.Context
}

// heldAs is how a tfserve dtype is held in the ExprGraph: float64 as
// itself, everything else numeric (float32, bools as 0/1, integers as
// integral values) as float32.
func heldAs(dt tensor.DType) (gt.Dtype, bool) {
	switch dt {
	case tensor.Float64:
		return gt.Float64, true
	case tensor.Float32, tensor.Bool, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.Uint8, tensor.Uint16:
		return gt.Float32, true
	}
	return gt.Dtype{}, false
}

func gShape1(s tensor.Shape) gt.Shape {
	if len(s) == 0 {
		return gt.Shape{1} // scalars are one-element vectors in the graph
	}
	return gt.Shape(gShape(s))
}

func (op *kernelOp) Arity() int { return len(op.in) }

func (op *kernelOp) Type() hm.Type {
	ts := append(append([]hm.Type{}, op.in...), G.TensorType{Dims: len(gShape1(op.shape)), Of: op.gdt})
	return hm.NewFnType(ts...)
}

func (op *kernelOp) InferShape(...G.DimSizer) (gt.Shape, error) {
	return gShape1(op.shape), nil
}

func (op *kernelOp) Do(vals ...G.Value) (G.Value, error) {
	args := make([]*tensor.Tensor, len(op.args))
	k := 0
	for i, a := range op.args {
		if a.c != nil {
			args[i] = a.c
			continue
		}
		if k >= len(vals) {
			return nil, fmt.Errorf("kernel node %s: %d gorgonia inputs, want more", op.node, len(vals))
		}
		t, err := argTensor(vals[k], a)
		if err != nil {
			return nil, fmt.Errorf("kernel node %s: input %d: %w", op.node, i, err)
		}
		k++
		args[i] = t
	}
	outs, err := op.fn(op.kctx, args)
	if err != nil {
		return nil, fmt.Errorf("kernel node %s: %w", op.node, err)
	}
	if op.out >= len(outs) {
		return nil, fmt.Errorf("kernel node %s: %d outputs, no %d", op.node, len(outs), op.out)
	}
	return toDense(op.node, outs[op.out], op.outDT, op.shape, op.gdt)
}

// argTensor copies a gorgonia value into the tensor a kernel expects.
func argTensor(v G.Value, a kernelArg) (*tensor.Tensor, error) {
	if !a.floatInt {
		return fromValue(v, a.dt, a.shape)
	}
	f, err := fromValue(v, tensor.Float32, a.shape)
	if err != nil {
		return nil, err
	}
	return intTensor(a.dt, a.shape.Clone(), toInts(f)), nil
}

// toDense copies a kernel's output into a new gorgonia tensor held as gdt,
// checking it has the dtype and shape the lowering planned for.
func toDense(node string, t *tensor.Tensor, dt tensor.DType, shape tensor.Shape, gdt gt.Dtype) (*gt.Dense, error) {
	if t.DType != dt || !t.Shape.Equal(shape) {
		return nil, fmt.Errorf("kernel node %s: output %v%v, planned %v%v", node, t.DType, t.Shape, dt, shape)
	}
	if gdt == gt.Float64 {
		data := append([]float64(nil), t.F64()...)
		return gt.New(gt.WithShape(gShape1(shape)...), gt.WithBacking(data)), nil
	}
	data := make([]float32, t.Len())
	switch dt {
	case tensor.Bool:
		for i, b := range t.Bools() {
			if b {
				data[i] = 1
			}
		}
	case tensor.Float32:
		copy(data, t.F32())
	default:
		ints := toInts(t)
		if len(ints) != t.Len() {
			return nil, fmt.Errorf("kernel node %s: output of type %v", node, dt)
		}
		for i, v := range ints {
			if v > maxExactInt || v < -maxExactInt {
				return nil, fmt.Errorf("kernel node %s: integer %d is beyond what the gorgonia engine holds exactly (±2^24)", node, v)
			}
			data[i] = float32(v)
		}
	}
	return gt.New(gt.WithShape(gShape1(shape)...), gt.WithBacking(data)), nil
}

func (op *kernelOp) ReturnsPtr() bool     { return false }
func (op *kernelOp) CallsExtern() bool    { return false }
func (op *kernelOp) OverwritesInput() int { return -1 }
func (op *kernelOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "tfserve-kernel:%s:%d", op.node, op.out)
}

func (op *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func (op *kernelOp) String() string { return fmt.Sprintf("Kernel(%s:%d)", op.node, op.out) }

// kernelNode lowers n as kernelOps, one per output. The outputs' dtypes
// and shapes come from running the kernel once on stand-in inputs (zeros
// of the lowered shapes), as shapes are fixed when lowering.
func (lw *lowerer) kernelNode(n *graph.Node, in []*value) ([]*value, error) {
	fn, err := lw.kernelFunc(n)
	if err != nil {
		return nil, err
	}
	args := make([]kernelArg, len(in))
	probe := make([]*tensor.Tensor, len(in))
	var children G.Nodes
	var types []hm.Type
	for i, v := range in {
		if v.c != nil {
			args[i] = kernelArg{c: v.c}
			probe[i] = v.c
			continue
		}
		if v.n == nil {
			return nil, lw.unsupported(n, "input %d is not a number the graph holds", i)
		}
		args[i] = kernelArg{dt: v.dt, shape: v.shape.Clone(), floatInt: v.floatInt}
		probe[i] = tensor.New(v.dt, v.shape.Clone())
		children = append(children, v.n)
		types = append(types, v.n.Type())
	}
	outs, err := fn(lw.kctx, probe)
	if err != nil {
		// Shape-dependent (the lowered shapes may be stand-ins), not an
		// unsupported op: New retries with each request's shapes.
		return nil, fmt.Errorf("gorgonia engine: node %s (%s) on inputs of the lowered shapes: %w", n.Name, n.Op, err)
	}
	kctx := &kernels.Context{}
	res := make([]*value, len(outs))
	for i, o := range outs {
		gdt, ok := heldAs(o.DType)
		if !ok {
			return nil, lw.unsupported(n, "output %d of type %v", i, o.DType)
		}
		op := &kernelOp{node: nodeName(n), fn: fn, args: args, out: i, outDT: o.DType, shape: o.Shape.Clone(), gdt: gdt, in: types, kctx: kctx}
		g, err := G.ApplyOp(op, children...)
		if err != nil {
			return nil, fmt.Errorf("gorgonia engine: node %s (%s): %w", n.Name, n.Op, err)
		}
		isInt := o.DType != tensor.Float32 && o.DType != tensor.Float64 && o.DType != tensor.Bool
		res[i] = &value{n: g, dt: o.DType, shape: o.Shape.Clone(), floatInt: isInt}
	}
	return res, nil
}

// kernelFunc builds n's kernel from the engine's registry.
func (lw *lowerer) kernelFunc(n *graph.Node) (kernels.Func, error) {
	b, ok := lw.opts.Registry(n.Op)
	if !ok {
		return nil, lw.unsupported(n, "no kernel")
	}
	fn, err := b(n.Attrs, len(n.Inputs))
	if err != nil {
		return nil, fmt.Errorf("gorgonia engine: node %s (%s): %w", n.Name, n.Op, err)
	}
	return fn, nil
}

func nodeName(n *graph.Node) string {
	if n.Where != "" {
		return n.Where + "/" + n.Name
	}
	return n.Name
}

// gatherKernel gathers from a table the one-hot lowering does not cover
// (ids, integer tables) with tfserve's kernel as a node of the graph.
func (lw *lowerer) gatherKernel(n *graph.Node, in []*value) (*value, error) {
	outs, err := lw.kernelNode(n, in)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}
