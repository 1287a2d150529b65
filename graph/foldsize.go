package graph

import (
	"math"

	"github.com/tfserve/tfserve/tensor"
)

// foldOutputBytes predicts, from a node's constant inputs and without
// running its kernel, the bytes of its first output for the ops whose
// output can be far larger than their inputs (a shape, a count or a
// broadcast taken from input values). It returns -1 when it cannot tell;
// the folding allocator still refuses an oversized tensor then.
func foldOutputBytes(n *Node, ins []*tensor.Tensor) int64 {
	dt := n.Attrs.Type("T", tensor.Invalid)
	elems := int64(-1)
	switch {
	case binaryShapeOps[n.Op] && len(ins) == 2:
		dt = ins[0].DType
		elems = shapeElems(broadcastStatic(ins[0].Shape, ins[1].Shape))
	case (n.Op == "Fill" || n.Op == "BroadcastTo") && len(ins) == 2:
		dims := 0
		if n.Op == "BroadcastTo" {
			dims, dt = 1, ins[0].DType
		} else {
			dt = ins[1].DType
		}
		elems = valuesProduct(ins[dims], nil)
	case n.Op == "Empty" && len(ins) == 1:
		dt = n.Attrs.Type("dtype", tensor.Invalid)
		elems = valuesProduct(ins[0], nil)
	case n.Op == "Tile" && len(ins) == 2:
		dt = ins[0].DType
		elems = valuesProduct(ins[1], ins[0].Shape)
	case (n.Op == "MatMul" || n.Op == "BatchMatMul" || n.Op == "BatchMatMulV2" || n.Op == "BatchMatMulV3") && len(ins) == 2:
		dt = ins[0].DType
		elems = matMulElems(ins[0].Shape, ins[1].Shape)
	case n.Op == "Range" && len(ins) == 3:
		dt = ins[0].DType
		elems = rangeElems(ins)
	case n.Op == "OneHot" && len(ins) >= 2:
		dt = n.Attrs.Type("T", tensor.Float32)
		if d, ok := scalarValue(ins[1]); ok && d >= 0 {
			elems = mulSat(int64(ins[0].Len()), int64(min(d, math.MaxInt64/2)))
		}
	case (n.Op == "Pad" || n.Op == "PadV2" || n.Op == "MirrorPad") && len(ins) >= 2:
		dt = ins[0].DType
		elems = padElems(ins[0].Shape, ins[1])
	}
	if elems < 0 || dt == tensor.Invalid {
		return -1
	}
	return tensorBytesN(dt, elems)
}

// tensorBytesN is the size of n elements of dt (16 bytes a string).
func tensorBytesN(dt tensor.DType, n int64) int64 {
	per := int64(dt.Size())
	if per <= 0 {
		per = 16
	}
	return mulSat(n, per)
}

func mulSat(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func shapeElems(s tensor.Shape) int64 {
	if s == nil {
		return -1
	}
	n := int64(1)
	for _, d := range s {
		if d < 0 {
			return -1
		}
		n = mulSat(n, int64(d))
	}
	return n
}

// valuesProduct multiplies the integer values of t (times the matching
// dims of base, when given, as Tile does); -1 if t is not integers or a
// value is negative (the kernel reports that).
func valuesProduct(t *tensor.Tensor, base tensor.Shape) int64 {
	var vals []int64
	switch d := t.Data.(type) {
	case []int32:
		for _, v := range d {
			vals = append(vals, int64(v))
		}
	case []int64:
		vals = d
	default:
		return -1
	}
	n := int64(1)
	for i, v := range vals {
		if v < 0 {
			return -1
		}
		n = mulSat(n, v)
		if base != nil {
			if i >= len(base) {
				return -1
			}
			n = mulSat(n, int64(base[i]))
		}
	}
	return n
}

func matMulElems(a, b tensor.Shape) int64 {
	if len(a) < 2 || len(b) < 2 {
		return -1
	}
	// Rows and columns at most the larger dims, whatever the transposes;
	// batch dims broadcast.
	rows := max(a[len(a)-1], a[len(a)-2])
	cols := max(b[len(b)-1], b[len(b)-2])
	batch := shapeElems(broadcastStatic(a[:len(a)-2], b[:len(b)-2]))
	if batch < 0 {
		batch = max(shapeElems(a[:len(a)-2]), shapeElems(b[:len(b)-2]))
	}
	return mulSat(mulSat(batch, int64(rows)), int64(cols))
}

func rangeElems(ins []*tensor.Tensor) int64 {
	start, ok1 := scalarFloat(ins[0])
	limit, ok2 := scalarFloat(ins[1])
	delta, ok3 := scalarFloat(ins[2])
	if !ok1 || !ok2 || !ok3 || delta == 0 {
		return -1
	}
	n := math.Ceil((limit - start) / delta)
	switch {
	case n <= 0 || math.IsNaN(n):
		return 0
	case n >= math.MaxInt64/2:
		return math.MaxInt64 / 2
	}
	return int64(n)
}

func padElems(s tensor.Shape, paddings *tensor.Tensor) int64 {
	var p []int64
	switch d := paddings.Data.(type) {
	case []int32:
		for _, v := range d {
			p = append(p, int64(v))
		}
	case []int64:
		p = d
	default:
		return -1
	}
	if len(p) != 2*len(s) {
		return -1
	}
	n := int64(1)
	for i, d := range s {
		if p[2*i] < 0 || p[2*i+1] < 0 {
			return -1
		}
		n = mulSat(n, int64(d)+min(p[2*i]+p[2*i+1], math.MaxInt64/4))
	}
	return n
}

func scalarValue(t *tensor.Tensor) (int64, bool) {
	if t.Len() != 1 {
		return 0, false
	}
	switch d := t.Data.(type) {
	case []int32:
		return int64(d[0]), true
	case []int64:
		return d[0], true
	}
	return 0, false
}

func scalarFloat(t *tensor.Tensor) (float64, bool) {
	if t.Len() != 1 {
		return 0, false
	}
	switch d := t.Data.(type) {
	case []int32:
		return float64(d[0]), true
	case []int64:
		return float64(d[0]), true
	case []float32:
		return float64(d[0]), true
	case []float64:
		return d[0], true
	}
	return 0, false
}
