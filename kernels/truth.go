package kernels

import "github.com/tfserve/tfserve/tensor"

// Truth converts a control-flow predicate (Switch, If, While) as TF's ToBool
// does: a scalar number is true when non-zero, a scalar string when
// non-empty, a bool as it is; a tensor of any other rank is true when it
// holds elements.
func Truth(t *tensor.Tensor) (bool, error) {
	if len(t.Shape) != 0 {
		return t.Len() > 0, nil
	}
	if t.Len() != 1 {
		return false, Errorf("predicate of shape [] holds %d elements", t.Len())
	}
	switch d := t.Data.(type) {
	case []bool:
		return d[0], nil
	case []string:
		return d[0] != "", nil
	case []float32:
		return d[0] != 0, nil
	case []float64:
		return d[0] != 0, nil
	case []int32:
		return d[0] != 0, nil
	case []int64:
		return d[0] != 0, nil
	case []int8:
		return d[0] != 0, nil
	case []int16:
		return d[0] != 0, nil
	case []uint8:
		return d[0] != 0, nil
	}
	return false, Errorf("%s cannot be converted to a boolean", t.DType.Name())
}
