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
	// outs are the fetched values: a gorgonia node, a constant computed
	// at lowering time, or a host-stage slot.
	outs []output
	// host runs before the graph (string inputs and what depends on them
	// alone; see boundary.go).
	host hostStage
}

type output struct {
	n     *G.Node
	dt    tensor.DType
	shape tensor.Shape
	c     *tensor.Tensor
	slot  int // 1 + a host-stage slot, 0 for none
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
		if n := copyInput(in, args[i]); n != args[i].Len() {
			return nil, fmt.Errorf("gorgonia engine: input %d: copied %d of %d values", i, n, args[i].Len())
		}
	}
	slots, err := mc.host.run(args)
	if err != nil {
		return nil, fmt.Errorf("gorgonia engine: %w", err)
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
		if o.slot > 0 {
			res[i] = slots[o.slot-1]
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

// copyInput copies a request input into its graph tensor: booleans
// become the 0/1 float32 masks they are held as, other types copy as they
// are. It returns how many values it copied.
func copyInput(dst *gt.Dense, src *tensor.Tensor) int {
	if src.DType != tensor.Bool {
		return tensor.CopyData(dst.Data(), src.Data)
	}
	f, ok := dst.Data().([]float32)
	if !ok {
		return 0
	}
	b := src.Bools()
	for i := range min(len(f), len(b)) {
		f[i] = 0
		if b[i] {
			f[i] = 1
		}
	}
	return min(len(f), len(b))
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
	if f, ok := data.([]float32); ok && dt != tensor.Float32 {
		// An integer held as integral float32 values (value.floatInt).
		if len(f) != shape.NumElements() {
			return nil, fmt.Errorf("result has %d values, want %d for shape %v", len(f), shape.NumElements(), shape)
		}
		ints := make([]int64, len(f))
		for i, x := range f {
			ints[i] = int64(x)
		}
		return intTensor(dt, shape.Clone(), ints), nil
	}
	out := tensor.New(dt, shape.Clone())
	if n := tensor.CopyData(out.Data, data); n != out.Len() {
		return nil, fmt.Errorf("result has %d values, want %d for shape %v", n, out.Len(), shape)
	}
	return out, nil
}
