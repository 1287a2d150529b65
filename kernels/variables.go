package kernels

import (
	"sync"

	"github.com/tfserve/tfserve/tensor"
)

// Variable is a resource variable (TF's VarHandleOp/VariableV2 state). Its
// value is replaced, never modified in place, so a tensor returned by Read
// stays valid and unchanged after later assignments.
type Variable struct {
	// Name is used in error messages; the executor may set it before use.
	Name string

	mu    sync.RWMutex
	value *tensor.Tensor
}

// NewVariable returns a variable holding t (nil: uninitialized).
func NewVariable(t *tensor.Tensor) *Variable { return &Variable{value: t} }

// VariableTensor wraps v in a DT_RESOURCE scalar handle tensor.
func VariableTensor(v *Variable) *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.Resource, Shape: tensor.Shape{}, Data: []any{v}}
}

// Read returns the current value, or nil if the variable is uninitialized.
// Callers must not modify the returned tensor.
func (v *Variable) Read() *tensor.Tensor {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.value
}

// Assign replaces the value. The variable takes ownership of t.
func (v *Variable) Assign(t *tensor.Tensor) {
	v.mu.Lock()
	v.value = t
	v.mu.Unlock()
}

// update replaces the value with f(old) atomically.
func (v *Variable) update(f func(old *tensor.Tensor) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	nv, err := f(v.value)
	if err != nil {
		return nil, err
	}
	v.value = nv
	return nv, nil
}

func (v *Variable) uninitialized() error {
	return Errorf("Error while reading resource variable %s from Container: localhost. This could mean that the variable was uninitialized.", v.Name)
}

// variableOf extracts the *Variable from a resource handle tensor.
func variableOf(op string, t *tensor.Tensor) (*Variable, error) {
	if t.DType != tensor.Resource {
		return nil, Errorf("%s: expected a resource handle, got %v", op, t.DType)
	}
	d, ok := t.Data.([]any)
	if !ok || len(d) != 1 {
		return nil, Errorf("%s: resource handle must be a scalar", op)
	}
	v, ok := d[0].(*Variable)
	if !ok || v == nil {
		return nil, Errorf("%s: resource handle does not hold a variable (%T)", op, d[0])
	}
	return v, nil
}

func readVariableBuilder(attrs Attrs, _ int) (Func, error) {
	dt := attrs.Type("dtype", tensor.Invalid)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("ReadVariableOp", in, 1); err != nil {
			return nil, err
		}
		v, err := variableOf("ReadVariableOp", in[0])
		if err != nil {
			return nil, err
		}
		t := v.Read()
		if t == nil {
			return nil, v.uninitialized()
		}
		if dt != tensor.Invalid && t.DType != dt {
			return nil, Errorf("Trying to read variable with wrong dtype. Expected %s got %s", dt.Name(), t.DType.Name())
		}
		return []*tensor.Tensor{t}, nil
	}, nil
}

// assignValue checks a new value against the old one's dtype (and shape when
// validate) and returns a private copy.
func assignValue(op string, old, val *tensor.Tensor, validate bool) (*tensor.Tensor, error) {
	if old != nil {
		if old.DType != val.DType {
			return nil, Errorf("Trying to assign variable with wrong dtype. Expected %s got %s", old.DType.Name(), val.DType.Name())
		}
		if validate && !old.Shape.Equal(val.Shape) {
			return nil, Errorf("Trying to assign to variable with tensor with wrong shape. Expected %v got %v", old.Shape, val.Shape)
		}
	}
	return val.Clone(), nil
}

func assignVariableBuilder(attrs Attrs, _ int) (Func, error) {
	validate := attrs.Bool("validate_shape", false)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("AssignVariableOp", in, 2); err != nil {
			return nil, err
		}
		v, err := variableOf("AssignVariableOp", in[0])
		if err != nil {
			return nil, err
		}
		_, err = v.update(func(old *tensor.Tensor) (*tensor.Tensor, error) {
			return assignValue("AssignVariableOp", old, in[1], validate)
		})
		return nil, err
	}, nil
}

// updateWith computes old (+|-) delta for AssignAdd/AssignSub.
func updateWith(ctx *Context, op string, v *Variable, delta *tensor.Tensor, sub bool) (*tensor.Tensor, error) {
	return v.update(func(old *tensor.Tensor) (*tensor.Tensor, error) {
		if old == nil {
			return nil, v.uninitialized()
		}
		if old.DType != delta.DType {
			return nil, Errorf("%s: value type %v does not match variable type %v", op, delta.DType, old.DType)
		}
		if !old.Shape.Equal(delta.Shape) {
			return nil, Errorf("Cannot update variable with shape %v using a Tensor with shape %v, shapes must be equal.", old.Shape, delta.Shape)
		}
		name := "AddV2"
		if sub {
			name = "Sub"
		}
		f, _ := binaryArith(name)(nil, 2)
		out, err := f(&Context{}, []*tensor.Tensor{old, delta})
		if err != nil {
			return nil, err
		}
		return out[0], nil
	})
}

func assignAddVariable(op string, sub bool) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		v, err := variableOf(op, in[0])
		if err != nil {
			return nil, err
		}
		_, err = updateWith(ctx, op, v, in[1], sub)
		return nil, err
	})
}

func varIsInitialized(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("VarIsInitializedOp", in, 1); err != nil {
		return nil, err
	}
	v, err := variableOf("VarIsInitializedOp", in[0])
	if err != nil {
		return nil, err
	}
	out := ctx.New(tensor.Bool, tensor.Shape{})
	out.Bools()[0] = v.Read() != nil
	return []*tensor.Tensor{out}, nil
}

func resourceGatherBuilder(attrs Attrs, _ int) (Func, error) {
	bd := attrs.Int("batch_dims", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("ResourceGather", in, 2); err != nil {
			return nil, err
		}
		v, err := variableOf("ResourceGather", in[0])
		if err != nil {
			return nil, err
		}
		params := v.Read()
		if params == nil {
			return nil, v.uninitialized()
		}
		if len(params.Shape) < 1 {
			return nil, Errorf("params must be at least 1 dimensional")
		}
		out, err := gatherAxis(ctx, "ResourceGather", params, in[1], bd, bd)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

// refAssign implements TF1's Assign on a ref variable; it returns the new value.
func refAssignBuilder(attrs Attrs, _ int) (Func, error) {
	validate := attrs.Bool("validate_shape", true)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("Assign", in, 2); err != nil {
			return nil, err
		}
		v, err := variableOf("Assign", in[0])
		if err != nil {
			return nil, err
		}
		nv, err := v.update(func(old *tensor.Tensor) (*tensor.Tensor, error) {
			return assignValue("Assign", old, in[1], validate)
		})
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{nv}, nil
	}, nil
}

func refAssignAdd(op string, sub bool) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		v, err := variableOf(op, in[0])
		if err != nil {
			return nil, err
		}
		nv, err := updateWith(ctx, op, v, in[1], sub)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{nv}, nil
	})
}
