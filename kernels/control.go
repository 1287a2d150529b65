package kernels

import (
	"fmt"
	"math"
	"strings"

	"github.com/tfserve/tfserve/tensor"
)

func assertBuilder(attrs Attrs, _ int) (Func, error) {
	summarize := int(attrs.Int("summarize", 3))
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkMinInputs("Assert", in, 1); err != nil {
			return nil, err
		}
		c := in[0]
		b, ok := c.Data.([]bool)
		if !ok || len(b) != 1 {
			return nil, Errorf("In[0] should be a scalar: %v", c.Shape)
		}
		if b[0] {
			return nil, nil
		}
		parts := make([]string, 0, len(in)-1)
		for _, t := range in[1:] {
			parts = append(parts, summarizeTensor(t, summarize))
		}
		return nil, Errorf("assertion failed: %s", strings.Join(parts, " "))
	}, nil
}

// summarizeTensor prints up to n elements as TF's Assert does: [a b c...].
func summarizeTensor(t *tensor.Tensor, n int) string {
	k := t.Len()
	if n >= 0 && k > n {
		k = n
	}
	parts := make([]string, k)
	for i := range parts {
		parts[i] = fmt.Sprint(elemAt(t.Data, i))
	}
	s := strings.Join(parts, " ")
	if k < t.Len() {
		s += "..."
	}
	if len(t.Shape) == 0 {
		return "[" + s + "]"
	}
	return "[" + s + "]"
}

func checkNumericsBuilder(attrs Attrs, _ int) (Func, error) {
	msg := attrs.String("message", "")
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("CheckNumerics", in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		nan, inf := false, false
		check := func(v float64) {
			if math.IsNaN(v) {
				nan = true
			} else if math.IsInf(v, 0) {
				inf = true
			}
		}
		switch d := x.Data.(type) {
		case []float32:
			for _, v := range d {
				check(float64(v))
			}
		case []float64:
			for _, v := range d {
				check(v)
			}
		default:
			return nil, noKernel("CheckNumerics", x.DType)
		}
		switch {
		case nan && inf:
			return nil, Errorf("%s : Tensor had Inf and NaN values", msg)
		case nan:
			return nil, Errorf("%s : Tensor had NaN values", msg)
		case inf:
			return nil, Errorf("%s : Tensor had Inf values", msg)
		}
		return []*tensor.Tensor{x}, nil
	}, nil
}
