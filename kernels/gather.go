package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// gatherAxis implements GatherV2 with batch_dims.
func gatherAxis(ctx *Context, op string, params, indices *tensor.Tensor, axis, batchDims int64) (*tensor.Tensor, error) {
	idx, err := intsOf(op, "indices", indices)
	if err != nil {
		return nil, err
	}
	pr, ir := len(params.Shape), len(indices.Shape)
	if batchDims < 0 {
		batchDims += int64(ir)
	}
	if batchDims < 0 || batchDims > int64(ir) {
		return nil, Errorf("Expected batch_dims in the range [%d, %d], but got %d", -ir, ir, batchDims)
	}
	if axis < -int64(pr) || axis >= int64(pr) {
		return nil, Errorf("Expected axis in the range [%d, %d), but got %d", -pr, pr, axis)
	}
	if axis < 0 {
		axis += int64(pr)
	}
	bd, ax := int(batchDims), int(axis)
	if bd >= pr && bd > 0 {
		return nil, Errorf("batch_dims (%d) must be less than rank(params) (%d).", bd, pr)
	}
	if ax < bd {
		return nil, Errorf("batch_dims (%d) must be less than or equal to axis (%d).", bd, ax)
	}
	for i := 0; i < bd; i++ {
		if params.Shape[i] != indices.Shape[i] {
			return nil, Errorf("params.shape[%d]: %d should be equal to indices.shape[%d]: %d", i, params.Shape[i], i, indices.Shape[i])
		}
	}
	os := tensor.Shape{}
	os = append(os, params.Shape[:ax]...)
	os = append(os, indices.Shape[bd:]...)
	os = append(os, params.Shape[ax+1:]...)
	out := ctx.New(params.DType, os)
	batch := prod(params.Shape, 0, bd)
	outer := prod(params.Shape, bd, ax)
	limit := params.Shape[ax]
	inner := prod(params.Shape, ax+1, pr)
	nIdx := prod(indices.Shape, bd, ir)
	for i, v := range idx {
		if v < 0 || v >= int64(limit) {
			return nil, Errorf("indices%s = %d is not in [0, %d)", indexStr(i, indices.Shape), v, limit)
		}
	}
	if out.Len() == 0 {
		return out, nil
	}
	mv := moverOf(params.Data)
	o := 0
	for b := 0; b < batch; b++ {
		for i := 0; i < outer; i++ {
			base := (b*outer + i) * limit * inner
			for _, v := range idx[b*nIdx : (b+1)*nIdx] {
				mv.copyRun(out.Data, o, params.Data, base+int(v)*inner, inner)
				o += inner
			}
		}
	}
	return out, nil
}

// indexStr formats flat index i of shape s as TF does in errors: "[1,2]".
func indexStr(i int, s tensor.Shape) string {
	if len(s) == 0 {
		return ""
	}
	st := stridesOf(s)
	b := []byte{'['}
	for k := range s {
		if k > 0 {
			b = append(b, ',')
		}
		v := 0
		if st[k] > 0 {
			v = i / st[k]
			i %= st[k]
		}
		b = appendInt(b, v)
	}
	return string(append(b, ']'))
}

func appendInt(b []byte, v int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	k := len(tmp)
	for {
		k--
		tmp[k] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[k:]...)
}

func gatherV2Builder(attrs Attrs, _ int) (Func, error) {
	bd := attrs.Int("batch_dims", 0)
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("GatherV2", in, 3); err != nil {
			return nil, err
		}
		ax, err := scalarInt("GatherV2", "axis", in[2])
		if err != nil {
			return nil, err
		}
		out, err := gatherAxis(ctx, "GatherV2", in[0], in[1], ax, bd)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}, nil
}

func gatherV1(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("Gather", in, 2); err != nil {
		return nil, err
	}
	if len(in[0].Shape) < 1 {
		return nil, Errorf("params must be at least 1 dimensional")
	}
	out, err := gatherAxis(ctx, "Gather", in[0], in[1], 0, 0)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{out}, nil
}

func gatherNd(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("GatherNd", in, 2); err != nil {
		return nil, err
	}
	params, indices := in[0], in[1]
	idx, err := intsOf("GatherNd", "indices", indices)
	if err != nil {
		return nil, err
	}
	ir := len(indices.Shape)
	if ir < 1 {
		return nil, Errorf("indices must be at least a vector, got shape %v", indices.Shape)
	}
	q := indices.Shape[ir-1]
	if q > len(params.Shape) {
		return nil, Errorf("index innermost dimension length must be <= params rank; saw: %d vs. %d", q, len(params.Shape))
	}
	os := append(indices.Shape[:ir-1:ir-1].Clone(), params.Shape[q:]...)
	out := ctx.New(params.DType, os)
	inner := prod(params.Shape, q, len(params.Shape))
	n := prod(indices.Shape, 0, ir-1)
	st := stridesOf(params.Shape)
	mv := moverOf(params.Data)
	for i := 0; i < n; i++ {
		off := 0
		for k := 0; k < q; k++ {
			v := idx[i*q+k]
			if v < 0 || v >= int64(params.Shape[k]) {
				return nil, Errorf("indices%s = %v does not index into param shape %v, node name: GatherNd", indexStr(i, indices.Shape[:ir-1]), idx[i*q:(i+1)*q], params.Shape)
			}
			off += int(v) * st[k]
		}
		if inner > 0 {
			mv.copyRun(out.Data, i*inner, params.Data, off, inner)
		}
	}
	return []*tensor.Tensor{out}, nil
}
