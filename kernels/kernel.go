package kernels

import (
	"fmt"

	"github.com/tfserve/tfserve/tensor"
)

// Attrs are a node's decoded attributes. Values have these Go types:
// int64, float32, bool, string, tensor.DType, tensor.Shape (nil for unknown
// rank), *tensor.Tensor, FuncRef, and slices of them ([]int64, []float32,
// []bool, []string, []tensor.DType, []tensor.Shape, []*tensor.Tensor,
// []FuncRef).
type Attrs map[string]any

// FuncRef names a function of the graph's library, with its attributes.
type FuncRef struct {
	Name  string
	Attrs Attrs
}

// Int returns an integer attribute, or def if absent.
func (a Attrs) Int(name string, def int64) int64 {
	if v, ok := a[name].(int64); ok {
		return v
	}
	return def
}

// Float returns a float attribute, or def if absent.
func (a Attrs) Float(name string, def float32) float32 {
	if v, ok := a[name].(float32); ok {
		return v
	}
	return def
}

// Bool returns a bool attribute, or def if absent.
func (a Attrs) Bool(name string, def bool) bool {
	if v, ok := a[name].(bool); ok {
		return v
	}
	return def
}

// String returns a string attribute, or def if absent.
func (a Attrs) String(name string, def string) string {
	if v, ok := a[name].(string); ok {
		return v
	}
	return def
}

// Type returns a dtype attribute, or def if absent.
func (a Attrs) Type(name string, def tensor.DType) tensor.DType {
	if v, ok := a[name].(tensor.DType); ok {
		return v
	}
	return def
}

// Ints returns a list-of-int attribute, or nil.
func (a Attrs) Ints(name string) []int64 {
	v, _ := a[name].([]int64)
	return v
}

// Context is passed to every kernel run. It carries per-request state.
type Context struct {
	// Alloc returns a zeroed tensor; executors may pool buffers behind it.
	// Nil means tensor.New.
	Alloc func(dt tensor.DType, shape tensor.Shape) *tensor.Tensor
}

// New allocates an output tensor through the context's allocator.
func (c *Context) New(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if c != nil && c.Alloc != nil {
		return c.Alloc(dt, shape)
	}
	return tensor.New(dt, shape)
}

// outBlock holds a kernel's one output tensor, its shape (up to four dims)
// and the one-element slice the kernel returns, in one allocation.
type outBlock struct {
	t    tensor.Tensor
	dims [4]int
	res  [1]*tensor.Tensor
}

// new1 is New for a kernel with one output: it returns the zeroed tensor
// and the result slice holding it. Without a context allocator and for
// shapes of rank four or less the tensor, its shape and the slice take one
// allocation besides the data.
func (c *Context) new1(dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, []*tensor.Tensor) {
	if (c != nil && c.Alloc != nil) || len(shape) > len(outBlock{}.dims) {
		t := c.New(dt, shape)
		return t, []*tensor.Tensor{t}
	}
	b := &outBlock{}
	n := copy(b.dims[:], shape)
	b.t = tensor.Tensor{DType: dt, Shape: b.dims[:n:n], Data: tensor.MakeSlice(dt, max(shape.NumElements(), 0))}
	b.res[0] = &b.t
	return &b.t, b.res[:]
}

// Func runs a kernel on its inputs and returns its outputs.
type Func func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error)

// Builder checks a node's attributes and returns its kernel. numInputs is the
// number of data inputs the node has (control inputs excluded).
type Builder func(attrs Attrs, numInputs int) (Func, error)

// Error is returned by kernels for bad inputs (TF's InvalidArgument).
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Errorf builds an InvalidArgument kernel error.
func Errorf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }
