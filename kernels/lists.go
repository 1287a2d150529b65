package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// TensorList is TF's TensorList variant value. Kernels never modify a list
// they receive: SetItem, PushBack and friends return a new list that may
// share item tensors (which are immutable) but not the Items slice.
type TensorList struct {
	ElementDType tensor.DType
	// ElementShape may contain -1 for unknown dims; nil means unknown rank.
	ElementShape tensor.Shape
	// Items holds the elements; a nil item has not been set yet.
	Items []*tensor.Tensor
}

// TensorListTensor wraps l in a DT_VARIANT scalar tensor.
func TensorListTensor(l *TensorList) *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.Variant, Shape: tensor.Shape{}, Data: []any{l}}
}

func (l *TensorList) clone() *TensorList {
	c := *l
	c.Items = append([]*tensor.Tensor(nil), l.Items...)
	return &c
}

func listOf(op string, t *tensor.Tensor) (*TensorList, error) {
	if t.DType != tensor.Variant {
		return nil, Errorf("%s: expected a TensorList variant, got %v", op, t.DType)
	}
	d, ok := t.Data.([]any)
	if !ok || len(d) != 1 {
		return nil, Errorf("%s: input_handle must be a scalar, got shape %v", op, t.Shape)
	}
	l, ok := d[0].(*TensorList)
	if !ok || l == nil {
		return nil, Errorf("%s: input_handle does not hold a TensorList (%T)", op, d[0])
	}
	return l, nil
}

// shapeArg decodes an element_shape tensor: -1 scalar = unknown rank.
func shapeArg(op string, t *tensor.Tensor) (tensor.Shape, error) {
	v, err := intsOf(op, "element_shape", t)
	if err != nil {
		return nil, err
	}
	if len(t.Shape) == 0 {
		if len(v) == 1 && v[0] == -1 {
			return nil, nil
		}
		return nil, Errorf("%s: element_shape must be a vector or -1, got %v", op, v)
	}
	if len(t.Shape) != 1 {
		return nil, Errorf("%s: element_shape must be at most rank 1, got %v", op, t.Shape)
	}
	s := make(tensor.Shape, len(v))
	for i, d := range v {
		if d < -1 || d > maxElements {
			return nil, Errorf("%s: bad element_shape dimension %d", op, d)
		}
		s[i] = int(d)
	}
	return s, nil
}

// mergeShapes merges two partial shapes, or errors if they conflict.
func mergeShapes(a, b tensor.Shape) (tensor.Shape, error) {
	if a == nil {
		return b, nil
	}
	if b == nil {
		return a, nil
	}
	if len(a) != len(b) {
		return nil, Errorf("Incompatible shapes during merge: %v vs. %v", a, b)
	}
	out := make(tensor.Shape, len(a))
	for i := range a {
		switch {
		case a[i] == -1:
			out[i] = b[i]
		case b[i] == -1 || b[i] == a[i]:
			out[i] = a[i]
		default:
			return nil, Errorf("Incompatible shapes during merge: %v vs. %v", a, b)
		}
	}
	return out, nil
}

func fullyDefined(s tensor.Shape) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

func listResult(l *TensorList) []*tensor.Tensor {
	return []*tensor.Tensor{TensorListTensor(l)}
}

func elementDType(op string, attrs Attrs) (tensor.DType, error) {
	return typeAttr(op, attrs, "element_dtype")
}

func emptyTensorListBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := elementDType("EmptyTensorList", attrs)
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("EmptyTensorList", in, 2); err != nil {
			return nil, err
		}
		s, err := shapeArg("EmptyTensorList", in[0])
		if err != nil {
			return nil, err
		}
		return listResult(&TensorList{ElementDType: dt, ElementShape: s}), nil
	}, nil
}

func tensorListReserveBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := elementDType("TensorListReserve", attrs)
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("TensorListReserve", in, 2); err != nil {
			return nil, err
		}
		s, err := shapeArg("TensorListReserve", in[0])
		if err != nil {
			return nil, err
		}
		n, err := scalarInt("TensorListReserve", "num_elements", in[1])
		if err != nil {
			return nil, err
		}
		if n < 0 || n > maxElements {
			return nil, Errorf("The num_elements to reserve must be a non negative number, but got %d", n)
		}
		return listResult(&TensorList{ElementDType: dt, ElementShape: s, Items: make([]*tensor.Tensor, n)}), nil
	}, nil
}

func tensorListFromTensorBuilder(attrs Attrs, _ int) (Func, error) {
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListFromTensor"
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 1 {
			return nil, Errorf("Tensor must be at least a vector, but saw shape: %v", x.Shape)
		}
		s, err := shapeArg(op, in[1])
		if err != nil {
			return nil, err
		}
		es := x.Shape[1:].Clone()
		if _, err := mergeShapes(s, es); err != nil {
			return nil, Errorf("Specified a list with shape %v from a tensor with shape %v", partialStr(s), es)
		}
		items := splitSizes(ctx, x, 0, ones(x.Shape[0]))
		for i, t := range items {
			items[i] = t.Reshaped(es)
		}
		return listResult(&TensorList{ElementDType: x.DType, ElementShape: s, Items: items}), nil
	}, nil
}

func ones(n int) []int {
	v := make([]int, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// itemOrZeros returns item i, or zeros of the element shape if it is unset.
func itemOrZeros(ctx *Context, op string, l *TensorList, i int, shape tensor.Shape) (*tensor.Tensor, error) {
	if t := l.Items[i]; t != nil {
		return t, nil
	}
	s, err := mergeShapes(l.ElementShape, shape)
	if err != nil {
		return nil, err
	}
	if !fullyDefined(s) {
		return nil, Errorf("Trying to read an uninitialized tensor but element_shape: %v is not fully defined: %v and no list element is set.", partialStr(s), partialStr(s))
	}
	return ctx.New(l.ElementDType, s), nil
}

func listIndex(op string, t *tensor.Tensor, n int) (int, error) {
	i, err := scalarInt(op, "index", t)
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= int64(n) {
		return 0, Errorf("Trying to access element %d in a list with %d elements.", i, n)
	}
	return int(i), nil
}

func tensorListGetItemBuilder(attrs Attrs, _ int) (Func, error) {
	dt := attrs.Type("element_dtype", tensor.Invalid)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListGetItem"
		if err := checkInputs(op, in, 3); err != nil {
			return nil, err
		}
		l, err := listOf(op, in[0])
		if err != nil {
			return nil, err
		}
		if dt != tensor.Invalid && dt != l.ElementDType {
			return nil, Errorf("Invalid data types; op elements %v but list elements %v", dt, l.ElementDType)
		}
		i, err := listIndex(op, in[1], len(l.Items))
		if err != nil {
			return nil, err
		}
		s, err := shapeArg(op, in[2])
		if err != nil {
			return nil, err
		}
		t, err := itemOrZeros(ctx, op, l, i, s)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

func checkItem(l *TensorList, t *tensor.Tensor) error {
	if t.DType != l.ElementDType {
		return Errorf("Invalid data types; list elements %v but tried to append %v", l.ElementDType, t.DType)
	}
	if !compatible(t.Shape, l.ElementShape) {
		return Errorf("Tried to set a tensor with incompatible shape at a list index. Item element shape: %v list shape: %v", t.Shape, partialStr(l.ElementShape))
	}
	return nil
}

func tensorListSetItemBuilder(attrs Attrs, _ int) (Func, error) {
	resize := attrs.Bool("resize_if_index_out_of_bounds", false)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListSetItem"
		if err := checkInputs(op, in, 3); err != nil {
			return nil, err
		}
		l, err := listOf(op, in[0])
		if err != nil {
			return nil, err
		}
		idx, err := scalarInt(op, "index", in[1])
		if err != nil {
			return nil, err
		}
		if err := checkItem(l, in[2]); err != nil {
			return nil, err
		}
		nl := l.clone()
		if idx >= int64(len(l.Items)) && resize && idx <= maxElements {
			nl.Items = append(nl.Items, make([]*tensor.Tensor, int(idx)+1-len(nl.Items))...)
		}
		if idx < 0 || idx >= int64(len(nl.Items)) {
			return nil, Errorf("Trying to modify element %d in a list with %d elements.", idx, len(l.Items))
		}
		nl.Items[idx] = in[2]
		return listResult(nl), nil
	}, nil
}

// stackItems stacks items (filling unset ones with zeros) into [n, elem...].
func stackItems(ctx *Context, op string, l *TensorList, idx []int, shape tensor.Shape) (*tensor.Tensor, error) {
	es, err := mergeShapes(l.ElementShape, shape)
	if err != nil {
		return nil, err
	}
	// Learn the element shape from set items.
	for _, i := range idx {
		if t := l.Items[i]; t != nil {
			if es, err = mergeShapes(es, t.Shape); err != nil {
				return nil, Errorf("Incompatible shapes in list: %v", err)
			}
		}
	}
	if !fullyDefined(es) {
		if len(idx) == 0 {
			return nil, Errorf("Tried to stack elements of an empty list with non-fully-defined element_shape: %v", partialStr(es))
		}
		return nil, Errorf("Tried to stack list which only contains uninitialized tensors and has a non-fully-defined element_shape: %v", partialStr(es))
	}
	os := append(tensor.Shape{len(idx)}, es...)
	if err := checkSize(op, os); err != nil {
		return nil, err
	}
	out := ctx.New(l.ElementDType, os)
	n := es.NumElements()
	if n == 0 {
		return out, nil
	}
	mv := moverOf(out.Data)
	for j, i := range idx {
		t := l.Items[i]
		if t == nil {
			continue // zeros
		}
		if !t.Shape.Equal(es) {
			return nil, Errorf("Incompatible shapes in list: %v vs. %v", t.Shape, es)
		}
		mv.copyRun(out.Data, j*n, t.Data, 0, n)
	}
	return out, nil
}

func tensorListStackBuilder(attrs Attrs, _ int) (Func, error) {
	dt := attrs.Type("element_dtype", tensor.Invalid)
	num := attrs.Int("num_elements", -1)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListStack"
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		l, err := listOf(op, in[0])
		if err != nil {
			return nil, err
		}
		if dt != tensor.Invalid && dt != l.ElementDType {
			return nil, Errorf("Invalid data types; op elements %v but list elements %v", dt, l.ElementDType)
		}
		if num != -1 && num != int64(len(l.Items)) {
			return nil, Errorf("Operation expected a list with %d elements but got a list with %d elements.", num, len(l.Items))
		}
		s, err := shapeArg(op, in[1])
		if err != nil {
			return nil, err
		}
		idx := make([]int, len(l.Items))
		for i := range idx {
			idx[i] = i
		}
		out, err := stackItems(ctx, op, l, idx, s)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func tensorListGatherBuilder(attrs Attrs, _ int) (Func, error) {
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListGather"
		if err := checkInputs(op, in, 3); err != nil {
			return nil, err
		}
		l, err := listOf(op, in[0])
		if err != nil {
			return nil, err
		}
		iv, err := vectorInts(op, "indices", in[1], false)
		if err != nil {
			return nil, err
		}
		s, err := shapeArg(op, in[2])
		if err != nil {
			return nil, err
		}
		idx := make([]int, len(iv))
		for j, v := range iv {
			if v < 0 || v >= int64(len(l.Items)) {
				return nil, Errorf("Trying to gather element %d in a list with %d elements.", v, len(l.Items))
			}
			idx[j] = int(v)
		}
		out, err := stackItems(ctx, op, l, idx, s)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func tensorListLength(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("TensorListLength", in, 1); err != nil {
		return nil, err
	}
	l, err := listOf("TensorListLength", in[0])
	if err != nil {
		return nil, err
	}
	out := ctx.New(tensor.Int32, tensor.Shape{})
	out.I32()[0] = int32(len(l.Items))
	return []*tensor.Tensor{out}, nil
}

func tensorListElementShapeBuilder(attrs Attrs, _ int) (Func, error) {
	st, err := outType("TensorListElementShape", attrs, "shape_type")
	if err != nil {
		return nil, err
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("TensorListElementShape", in, 1); err != nil {
			return nil, err
		}
		l, err := listOf("TensorListElementShape", in[0])
		if err != nil {
			return nil, err
		}
		var t *tensor.Tensor
		if l.ElementShape == nil {
			t, err = intTensor(ctx, st, tensor.Shape{}, []int{-1})
		} else {
			t, err = intTensor(ctx, st, tensor.Shape{len(l.ElementShape)}, l.ElementShape)
		}
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

func tensorListPushBack(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "TensorListPushBack"
	if err := checkInputs(op, in, 2); err != nil {
		return nil, err
	}
	l, err := listOf(op, in[0])
	if err != nil {
		return nil, err
	}
	if err := checkItem(l, in[1]); err != nil {
		return nil, err
	}
	nl := l.clone()
	nl.Items = append(nl.Items, in[1])
	return listResult(nl), nil
}

func tensorListPopBack(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "TensorListPopBack"
	if err := checkInputs(op, in, 2); err != nil {
		return nil, err
	}
	l, err := listOf(op, in[0])
	if err != nil {
		return nil, err
	}
	if len(l.Items) == 0 {
		return nil, Errorf("Trying to pop from an empty list.")
	}
	s, err := shapeArg(op, in[1])
	if err != nil {
		return nil, err
	}
	t, err := itemOrZeros(ctx, op, l, len(l.Items)-1, s)
	if err != nil {
		return nil, err
	}
	nl := l.clone()
	nl.Items = nl.Items[:len(nl.Items)-1]
	return []*tensor.Tensor{TensorListTensor(nl), t}, nil
}

func tensorListResize(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "TensorListResize"
	if err := checkInputs(op, in, 2); err != nil {
		return nil, err
	}
	l, err := listOf(op, in[0])
	if err != nil {
		return nil, err
	}
	n, err := scalarInt(op, "size", in[1])
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxElements {
		return nil, Errorf("TensorListSlice expects size to be non-negative. Got: %d", n)
	}
	nl := l.clone()
	if int(n) <= len(nl.Items) {
		nl.Items = nl.Items[:n]
	} else {
		nl.Items = append(nl.Items, make([]*tensor.Tensor, int(n)-len(nl.Items))...)
	}
	return listResult(nl), nil
}

func tensorListConcatBuilder(attrs Attrs, _ int) (Func, error) {
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorListConcatV2"
		if err := checkInputs(op, in, 3); err != nil {
			return nil, err
		}
		l, err := listOf(op, in[0])
		if err != nil {
			return nil, err
		}
		s, err := shapeArg(op, in[1])
		if err != nil {
			return nil, err
		}
		es, err := mergeShapes(l.ElementShape, s)
		if err != nil {
			return nil, err
		}
		if es != nil && len(es) == 0 {
			return nil, Errorf("Concat requires elements to be at least vectors, found scalars instead.")
		}
		parts := make([]*tensor.Tensor, len(l.Items))
		lengths := ctx.New(tensor.Int64, tensor.Shape{len(l.Items)})
		for i, t := range l.Items {
			if t == nil {
				if !fullyDefined(es) {
					return nil, Errorf("All except the first dimension must be fully defined when concating uninitialized tensors.")
				}
				t = ctx.New(l.ElementDType, es)
			}
			if len(t.Shape) == 0 {
				return nil, Errorf("Concat saw a scalar shape at index %d but requires at least vectors.", i)
			}
			parts[i] = t
			lengths.I64()[i] = int64(t.Shape[0])
		}
		if len(parts) == 0 {
			if !fullyDefined(es) {
				return nil, Errorf("All except the first dimension must be fully defined when concating an empty list.")
			}
			s0 := es.Clone()
			s0[0] = 0
			return []*tensor.Tensor{ctx.New(l.ElementDType, s0), lengths}, nil
		}
		axis := tensor.Scalar(int32(0))
		out, err := concatTensors(ctx, op, parts, axis)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out, lengths}, nil
	}, nil
}

func tensorListScatterIntoExisting(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "TensorListScatterIntoExistingList"
	if err := checkInputs(op, in, 3); err != nil {
		return nil, err
	}
	l, err := listOf(op, in[0])
	if err != nil {
		return nil, err
	}
	x := in[1]
	idx, err := vectorInts(op, "indices", in[2], false)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 1 || x.Shape[0] != len(idx) {
		return nil, Errorf("Expected len(indices) == tensor.shape[0], but saw: %d vs. %v", len(idx), x.Shape)
	}
	if x.DType != l.ElementDType {
		return nil, Errorf("Invalid data types; list elements %v but tried to scatter %v", l.ElementDType, x.DType)
	}
	nl := l.clone()
	es := x.Shape[1:].Clone()
	if !compatible(es, l.ElementShape) {
		return nil, Errorf("Tried to scatter elements of shape %v into a list of shape %v", es, partialStr(l.ElementShape))
	}
	items := splitSizes(ctx, x, 0, ones(x.Shape[0]))
	for j, i := range idx {
		if i < 0 || i > maxElements {
			return nil, Errorf("Indices in TensorListScatter must all be non-negative.")
		}
		if int(i) >= len(nl.Items) {
			nl.Items = append(nl.Items, make([]*tensor.Tensor, int(i)+1-len(nl.Items))...)
		}
		nl.Items[i] = items[j].Reshaped(es)
	}
	return listResult(nl), nil
}
