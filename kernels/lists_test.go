package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestTensorListRoundTrip(t *testing.T) {
	x := iota32(sh(3, 2))
	l := mustRun(t, "TensorListFromTensor", Attrs{"element_dtype": tensor.Float32}, x, vec32(2))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, l)[0], sc32(3))
	wantTensor(t, mustRun(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, l, sc32(1), vec32(2))[0], f32(sh(2), 2, 3))
	l2 := mustRun(t, "TensorListSetItem", nil, l, sc32(1), f32(sh(2), 9, 9))[0]
	// The input list is unchanged.
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, l, vec32(2))[0], x)
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32, "num_elements": int64(3)}, l2, vec32(2))[0],
		f32(sh(3, 2), 0, 1, 9, 9, 4, 5))
	mustFail(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32, "num_elements": int64(4)}, "expected a list with 4 elements", l2, vec32(2))
	mustFail(t, "TensorListSetItem", nil, "Trying to modify element 3 in a list with 3 elements", l, sc32(3), f32(sh(2), 1, 1))
	mustFail(t, "TensorListSetItem", nil, "incompatible shape", l, sc32(0), f32(sh(3), 1, 1, 1))

	// Reserve: unset items stack as zeros when the element shape is known.
	r := mustRun(t, "TensorListReserve", Attrs{"element_dtype": tensor.Float32}, vec32(-1, 2), sc32(3))[0]
	r = mustRun(t, "TensorListSetItem", nil, r, sc32(2), f32(sh(1, 2), 7, 8))[0]
	wantTensor(t, mustRun(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, r, vec32(-1, 2))[0], f32(sh(3, 1, 2), 0, 0, 0, 0, 7, 8))
	wantTensor(t, mustRun(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, r, sc32(0), vec32(1, 2))[0], f32(sh(1, 2), 0, 0))
	mustFail(t, "TensorListGetItem", Attrs{"element_dtype": tensor.Float32}, "not fully defined", r, sc32(0), sc32(-1))
	wantTensor(t, mustRun(t, "TensorListElementShape", nil, r)[0], vec32(-1, 2))
	unknown := mustRun(t, "TensorListReserve", Attrs{"element_dtype": tensor.Float32}, sc32(-1), sc32(2))[0]
	wantTensor(t, mustRun(t, "TensorListElementShape", nil, unknown)[0], sc32(-1))
	mustFail(t, "TensorListStack", Attrs{"element_dtype": tensor.Float32}, "non-fully-defined", unknown, sc32(-1))

	// Push/pop, gather, concat, scatter, resize.
	e := mustRun(t, "EmptyTensorList", Attrs{"element_dtype": tensor.Int32}, sc32(-1), sc32(-1))[0]
	e1 := mustRun(t, "TensorListPushBack", nil, e, vec32(1, 2))[0]
	e2 := mustRun(t, "TensorListPushBack", nil, e1, vec32(3))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, e1)[0], sc32(1))
	pop := mustRun(t, "TensorListPopBack", nil, e2, sc32(-1))
	wantTensor(t, pop[1], vec32(3))
	wantTensor(t, mustRun(t, "TensorListLength", nil, pop[0])[0], sc32(1))
	cat := mustRun(t, "TensorListConcatV2", nil, e2, sc32(-1), i64(sh(0)))
	wantTensor(t, cat[0], vec32(1, 2, 3))
	wantTensor(t, cat[1], i64(sh(2), 2, 1))
	mustFail(t, "TensorListPopBack", nil, "pop from an empty list", e, sc32(-1))
	g := mustRun(t, "TensorListGather", nil, l2, vec32(2, 0), vec32(2))[0]
	wantTensor(t, g, f32(sh(2, 2), 4, 5, 0, 1))
	sc := mustRun(t, "TensorListScatterIntoExistingList", nil, l, f32(sh(1, 2), -1, -2), vec32(0))[0]
	wantTensor(t, mustRun(t, "TensorListStack", nil, sc, vec32(2))[0], f32(sh(3, 2), -1, -2, 2, 3, 4, 5))
	rs := mustRun(t, "TensorListResize", nil, l, sc32(1))[0]
	wantTensor(t, mustRun(t, "TensorListLength", nil, rs)[0], sc32(1))
	wantTensor(t, mustRun(t, "TensorListLength", nil, l)[0], sc32(3))
}
