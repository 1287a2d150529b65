package gorgonia

import (
	"fmt"
	"runtime/debug"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/tensor"
)

// machine is one lowered graph with its TapeMachine. It is used by one
// goroutine at a time.
type machine struct {
	g  *G.ExprGraph
	vm G.VM
	// inputs are the graph's request inputs, with the tensors bound to
	// them; requests copy their data into those tensors.
	inputs []*G.Node
	inVals []*gt.Dense
	// outs are the fetched values: a gorgonia node, or a constant computed
	// at lowering time.
	outs []output
}

type output struct {
	n     *G.Node
	dt    tensor.DType
	shape tensor.Shape
	c     *tensor.Tensor
}

func (mc *machine) run(args []*tensor.Tensor) (res []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gorgonia engine: run panicked: %v\n%s", r, debug.Stack())
		}
	}()
	for i, in := range mc.inVals {
		if in == nil {
			continue
		}
		if n := tensor.CopyData(in.Data(), args[i].Data); n != args[i].Len() {
			return nil, fmt.Errorf("gorgonia engine: input %d: copied %d of %d values", i, n, args[i].Len())
		}
	}
	if mc.vm != nil {
		defer mc.vm.Reset()
		if err := mc.vm.RunAll(); err != nil {
			return nil, fmt.Errorf("gorgonia engine: %w", err)
		}
	}
	res = make([]*tensor.Tensor, len(mc.outs))
	for i, o := range mc.outs {
		if o.c != nil {
			res[i] = o.c
			continue
		}
		t, err := fromValue(o.n.Value(), o.dt, o.shape)
		if err != nil {
			return nil, fmt.Errorf("gorgonia engine: output %d: %w", i, err)
		}
		res[i] = t
	}
	return res, nil
}

// fromValue copies a gorgonia value into a new tfserve tensor of the given
// dtype and shape. Values standing for booleans (0/1 floats) become bools.
func fromValue(v G.Value, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
	if v == nil {
		return nil, fmt.Errorf("no value")
	}
	var data any
	switch x := v.(type) {
	case *gt.Dense:
		d := x
		if d.IsMaterializable() {
			d = d.Materialize().(*gt.Dense)
		}
		data = d.Data()
	case *G.F32:
		data = []float32{float32(*x)}
	case *G.F64:
		data = []float64{float64(*x)}
	case *G.I32:
		data = []int32{int32(*x)}
	case *G.I64:
		data = []int64{int64(*x)}
	default:
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	if dt == tensor.Bool {
		f, ok := data.([]float32)
		if !ok {
			return nil, fmt.Errorf("boolean result held as %T", data)
		}
		out := tensor.New(tensor.Bool, shape.Clone())
		b := out.Bools()
		for i := range b {
			b[i] = f[i] != 0
		}
		return out, nil
	}
	out := tensor.New(dt, shape.Clone())
	if n := tensor.CopyData(out.Data, data); n != out.Len() {
		return nil, fmt.Errorf("result has %d values, want %d for shape %v", n, out.Len(), shape)
	}
	return out, nil
}
