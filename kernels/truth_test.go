package kernels

import (
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func TestTruth(t *testing.T) {
	cases := []struct {
		in   *tensor.Tensor
		want bool
	}{
		{tensor.Scalar(true), true},
		{tensor.Scalar(false), false},
		{tensor.Scalar(float32(0.5)), true},
		{tensor.Scalar(float64(0)), false},
		{tensor.Scalar(int32(-1)), true},
		{tensor.Scalar(int64(0)), false},
		{&tensor.Tensor{DType: tensor.Uint8, Shape: tensor.Shape{}, Data: []uint8{3}}, true},
		{&tensor.Tensor{DType: tensor.Int8, Shape: tensor.Shape{}, Data: []int8{0}}, false},
		{&tensor.Tensor{DType: tensor.Int16, Shape: tensor.Shape{}, Data: []int16{2}}, true},
		{tensor.Scalar("x"), true},
		{tensor.Scalar(""), false},
		// Any other rank: true when it holds elements, whatever they are.
		{&tensor.Tensor{DType: tensor.Bool, Shape: tensor.Shape{1}, Data: []bool{false}}, true},
		{&tensor.Tensor{DType: tensor.Float32, Shape: tensor.Shape{0, 3}, Data: []float32{}}, false},
	}
	for _, c := range cases {
		got, err := Truth(c.in)
		if err != nil || got != c.want {
			t.Errorf("Truth(%v %v) = %v, %v; want %v", c.in.DType, c.in.Data, got, err, c.want)
		}
	}
	u16 := &tensor.Tensor{DType: tensor.Uint16, Shape: tensor.Shape{}, Data: []uint16{1}}
	if _, err := Truth(u16); err == nil || err.Error() != "uint16 cannot be converted to a boolean" {
		t.Errorf("Truth(uint16 scalar) error = %v", err)
	}
}
