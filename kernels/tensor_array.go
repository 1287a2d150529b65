package kernels

import (
	"sync"

	"github.com/tfserve/tfserve/tensor"
)

// TensorArray is TF1's TensorArrayV3 resource. Unlike TensorList it is
// mutable: writes change the array in place. TensorArrayV3 creates a fresh
// array on every run, so executors must run it per request (never cache its
// handle); the flow outputs order the reads and writes.
type TensorArray struct {
	DType        tensor.DType
	ElementShape tensor.Shape // nil: unknown
	Dynamic      bool

	mu    sync.Mutex
	items []*tensor.Tensor
}

// TensorArrayTensor wraps a in a DT_RESOURCE scalar handle tensor.
func TensorArrayTensor(a *TensorArray) *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.Resource, Shape: tensor.Shape{}, Data: []any{a}}
}

func tensorArrayOf(op string, t *tensor.Tensor) (*TensorArray, error) {
	d, ok := t.Data.([]any)
	if !ok || len(d) != 1 {
		return nil, Errorf("%s: handle must be a resource scalar", op)
	}
	a, ok := d[0].(*TensorArray)
	if !ok || a == nil {
		return nil, Errorf("%s: handle does not hold a TensorArray (%T)", op, d[0])
	}
	return a, nil
}

func flowScalar(ctx *Context) *tensor.Tensor { return ctx.New(tensor.Float32, tensor.Shape{}) }

func tensorArrayBuilder(attrs Attrs, _ int) (Func, error) {
	dt, err := typeAttr("TensorArrayV3", attrs, "dtype")
	if err != nil {
		return nil, err
	}
	es, _ := attrs["element_shape"].(tensor.Shape)
	dyn := attrs.Bool("dynamic_size", false)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("TensorArrayV3", in, 1); err != nil {
			return nil, err
		}
		n, err := scalarInt("TensorArrayV3", "size", in[0])
		if err != nil {
			return nil, err
		}
		if n < 0 || n > maxElements {
			return nil, Errorf("Size should be >= 0, got %d", n)
		}
		a := &TensorArray{DType: dt, ElementShape: es, Dynamic: dyn, items: make([]*tensor.Tensor, n)}
		return []*tensor.Tensor{TensorArrayTensor(a), flowScalar(ctx)}, nil
	}, nil
}

// write stores value at i, growing a dynamic array.
func (a *TensorArray) write(i int64, v *tensor.Tensor) error {
	if v.DType != a.DType {
		return Errorf("TensorArray dtype is %s but Op is trying to write dtype %s.", a.DType.Name(), v.DType.Name())
	}
	if !compatible(v.Shape, a.ElementShape) {
		return Errorf("Could not write to TensorArray index %d because the value shape is %v which is incompatible with the TensorArray's inferred element shape: %v", i, v.Shape, partialStr(a.ElementShape))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if i < 0 {
		return Errorf("Tried to write to index %d but array size is: %d", i, len(a.items))
	}
	if i >= int64(len(a.items)) {
		if !a.Dynamic || i > maxElements {
			return Errorf("Tried to write to index %d but array is not resizeable and size is: %d", i, len(a.items))
		}
		a.items = append(a.items, make([]*tensor.Tensor, int(i)+1-len(a.items))...)
	}
	a.items[i] = v
	return nil
}

// read returns item i, or zeros when unwritten and the shape is known.
func (a *TensorArray) read(ctx *Context, i int64) (*tensor.Tensor, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i < 0 || i >= int64(len(a.items)) {
		return nil, Errorf("Tried to read from index %d but array size is: %d", i, len(a.items))
	}
	if t := a.items[i]; t != nil {
		return t, nil
	}
	if !fullyDefined(a.ElementShape) {
		return nil, Errorf("Could not read from TensorArray index %d.  Furthermore, the element shape is not fully defined: %v.  It is possible you are working with a resizeable TensorArray and stop_gradients is not allowing the gradients to be written.", i, partialStr(a.ElementShape))
	}
	return ctx.New(a.DType, a.ElementShape), nil
}

func tensorArrayWrite(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("TensorArrayWriteV3", in, 4); err != nil {
		return nil, err
	}
	a, err := tensorArrayOf("TensorArrayWriteV3", in[0])
	if err != nil {
		return nil, err
	}
	i, err := scalarInt("TensorArrayWriteV3", "index", in[1])
	if err != nil {
		return nil, err
	}
	if err := a.write(i, in[2]); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{flowScalar(ctx)}, nil
}

func tensorArrayRead(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("TensorArrayReadV3", in, 3); err != nil {
		return nil, err
	}
	a, err := tensorArrayOf("TensorArrayReadV3", in[0])
	if err != nil {
		return nil, err
	}
	i, err := scalarInt("TensorArrayReadV3", "index", in[1])
	if err != nil {
		return nil, err
	}
	t, err := a.read(ctx, i)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}

func tensorArraySize(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("TensorArraySizeV3", in, 2); err != nil {
		return nil, err
	}
	a, err := tensorArrayOf("TensorArraySizeV3", in[0])
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	n := len(a.items)
	a.mu.Unlock()
	out := ctx.New(tensor.Int32, tensor.Shape{})
	out.I32()[0] = int32(n)
	return []*tensor.Tensor{out}, nil
}

func tensorArrayGatherBuilder(attrs Attrs, _ int) (Func, error) {
	es, _ := attrs["element_shape"].(tensor.Shape)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		const op = "TensorArrayGatherV3"
		if err := checkInputs(op, in, 3); err != nil {
			return nil, err
		}
		a, err := tensorArrayOf(op, in[0])
		if err != nil {
			return nil, err
		}
		idx, err := vectorInts(op, "indices", in[1], false)
		if err != nil {
			return nil, err
		}
		items := make([]*tensor.Tensor, len(idx))
		for j, i := range idx {
			if items[j], err = a.read(ctx, i); err != nil {
				return nil, err
			}
		}
		shape, err := mergeShapes(a.ElementShape, es)
		if err != nil {
			return nil, err
		}
		if len(items) > 0 {
			shape = items[0].Shape
		}
		if !fullyDefined(shape) {
			return nil, Errorf("TensorArray has size zero, but element shape %v is not fully defined. Currently only static shapes are supported when packing zero-size TensorArrays.", partialStr(shape))
		}
		os := append(tensor.Shape{len(items)}, shape...)
		out := ctx.New(a.DType, os)
		n := shape.NumElements()
		mv := moverOf(out.Data)
		for j, t := range items {
			if !t.Shape.Equal(shape) {
				return nil, Errorf("TensorArray has inconsistent shapes.  Index 0 has shape: %v but index %d has shape: %v", shape, j, t.Shape)
			}
			if n > 0 {
				mv.copyRun(out.Data, j*n, t.Data, 0, n)
			}
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func tensorArrayScatter(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	const op = "TensorArrayScatterV3"
	if err := checkInputs(op, in, 4); err != nil {
		return nil, err
	}
	a, err := tensorArrayOf(op, in[0])
	if err != nil {
		return nil, err
	}
	idx, err := vectorInts(op, "indices", in[1], false)
	if err != nil {
		return nil, err
	}
	v := in[2]
	if len(v.Shape) < 1 || v.Shape[0] != len(idx) {
		return nil, Errorf("Expected len(indices) == values.shape[0], but saw: %d vs. %v", len(idx), v.Shape)
	}
	es := v.Shape[1:].Clone()
	parts := splitSizes(ctx, v, 0, ones(len(idx)))
	for j, i := range idx {
		if err := a.write(i, parts[j].Reshaped(es)); err != nil {
			return nil, err
		}
	}
	return []*tensor.Tensor{flowScalar(ctx)}, nil
}
