package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestBadDataIsAnError(t *testing.T) {
	bad := &tensor.Tensor{DType: tensor.Float32, Shape: sh(3), Data: []float32{1}}
	mustFail(t, "AddV2", nil, "holds 1 elements", bad, bad)
	wrong := &tensor.Tensor{DType: tensor.Int32, Shape: sh(1), Data: []float32{1}}
	mustFail(t, "Neg", nil, "holds []float32", wrong)
}

// TestNoPanicsOnOddInputs feeds every kernel a handful of awkward inputs.
// Errors are fine; panics (reported as internal errors) are not.
func TestNoPanicsOnOddInputs(t *testing.T) {
	inputs := []*tensor.Tensor{
		f32(sh()), iota32(sh(0)), iota32(sh(2, 0, 3)), vec32(), sc32(-1), sc32(1 << 30), i64(sh(2), -5, 7),
		strs(sh(2), "", "x"), bools(sh(1), true), iota32(sh(1, 2, 2, 1)), f64(sh(2, 2), 1, 2, 3, 4),
		{DType: tensor.Variant, Shape: sh(), Data: []any{nil}}, {DType: tensor.Resource, Shape: sh(), Data: []any{"x"}},
	}
	inputs[0] = f32(sh(), 3)
	attrSets := []Attrs{nil, {"T": tensor.Float32, "DstT": tensor.Int32, "dtype": tensor.Float32, "num_split": int64(2),
		"axis": int64(-1), "N": int64(2), "num": int64(2), "element_dtype": tensor.Float32, "key_dtype": tensor.String,
		"value_dtype": tensor.Int64, "padding": "SAME", "strides": []int64{1, 1, 1, 1}, "ksize": []int64{1, 2, 2, 1},
		"mode": "REFLECT", "equation": "ij,jk->ik", "value": vec32(1), "shape": sh(1)}}
	r := rand.New(rand.NewPCG(11, 12))
	for _, op := range Supported() {
		if op == "ReadFile" || op == "InitializeTableFromTextFileV2" {
			continue // touch the file system
		}
		for _, attrs := range attrSets {
			for iter := 0; iter < 40; iter++ {
				n := r.IntN(5)
				in := make([]*tensor.Tensor, n)
				for i := range in {
					in[i] = inputs[r.IntN(len(inputs))]
				}
				b, _ := Lookup(op)
				f, err := b(attrs, n)
				if err != nil {
					if containsInternal(err) {
						t.Fatalf("%s build: %v", op, err)
					}
					continue
				}
				if _, err := f(&Context{}, in); err != nil && containsInternal(err) {
					t.Fatalf("%s%v: %v", op, in, err)
				}
			}
		}
	}
}

func containsInternal(err error) bool {
	return err != nil && len(err.Error()) > 0 && (contains(err.Error(), "internal error"))
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
