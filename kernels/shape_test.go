package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestShapeOps(t *testing.T) {
	x := iota32(sh(2, 3))
	wantTensor(t, mustRun(t, "Shape", nil, x)[0], vec32(2, 3))
	wantTensor(t, mustRun(t, "Shape", Attrs{"out_type": tensor.Int64}, x)[0], i64(sh(2), 2, 3))
	wantTensor(t, mustRun(t, "Size", nil, x)[0], sc32(6))
	wantTensor(t, mustRun(t, "Rank", nil, x)[0], sc32(2))
	n := mustRun(t, "ShapeN", nil, x, iota32(sh(4)))
	wantTensor(t, n[1], vec32(4))
	wantTensor(t, mustRun(t, "Reshape", nil, x, vec32(3, -1))[0], iota32(sh(3, 2)))
	wantTensor(t, mustRun(t, "Reshape", nil, x, vec32(-1))[0], iota32(sh(6)))
	wantTensor(t, mustRun(t, "Reshape", nil, iota32(sh(1)), i32(sh(0)))[0], iota32(sh()))
	mustFail(t, "Reshape", nil, "Input to reshape is a tensor with 6 values, but the requested shape has 4", x, vec32(2, 2))
	mustFail(t, "Reshape", nil, "Only one input size may be -1", x, vec32(-1, -1))
	mustFail(t, "Reshape", nil, "requires a multiple of 4", x, vec32(-1, 4))
	wantTensor(t, mustRun(t, "ExpandDims", nil, x, sc32(-1))[0], iota32(sh(2, 3, 1)))
	wantTensor(t, mustRun(t, "ExpandDims", nil, x, sc32(0))[0], iota32(sh(1, 2, 3)))
	mustFail(t, "ExpandDims", nil, "Tried to expand dim index 4", x, sc32(4))
	y := iota32(sh(1, 2, 1, 3))
	wantTensor(t, mustRun(t, "Squeeze", nil, y)[0], iota32(sh(2, 3)))
	wantTensor(t, mustRun(t, "Squeeze", Attrs{"squeeze_dims": []int64{-2}}, y)[0], iota32(sh(1, 2, 3)))
	mustFail(t, "Squeeze", Attrs{"squeeze_dims": []int64{1}}, "Can not squeeze dim[1], expected a dimension of 1, got 2", y)
	wantTensor(t, mustRun(t, "BroadcastArgs", nil, vec32(2, 1), vec32(3))[0], vec32(2, 3))
	wantTensor(t, mustRun(t, "BroadcastTo", nil, f32(sh(2, 1), 1, 2), vec32(2, 3))[0], f32(sh(2, 3), 1, 1, 1, 2, 2, 2))
	mustFail(t, "BroadcastTo", nil, "Unable to broadcast", iota32(sh(3)), vec32(2))
	mustFail(t, "EnsureShape", Attrs{"shape": sh(2, 4)}, "is not compatible", x)
	wantTensor(t, mustRun(t, "EnsureShape", Attrs{"shape": sh(-1, 3)}, x)[0], x)
}
