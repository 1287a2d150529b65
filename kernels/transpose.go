package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

func permOf(op string, t *tensor.Tensor, rank int) ([]int, error) {
	p, err := vectorInts(op, "perm", t, false)
	if err != nil {
		return nil, err
	}
	if len(p) != rank {
		return nil, Errorf("transpose expects a vector of size %d. But input(1) is a vector of size %d", rank, len(p))
	}
	seen := make([]bool, rank)
	out := make([]int, rank)
	for i, v := range p {
		if v < 0 || v >= int64(rank) {
			return nil, Errorf("%d is out of range [0 .. %d)", v, rank)
		}
		if seen[v] {
			return nil, Errorf("%d is duplicated in the input.", v)
		}
		seen[v] = true
		out[i] = int(v)
	}
	return out, nil
}

func transposeTensor(ctx *Context, x *tensor.Tensor, perm []int) *tensor.Tensor {
	st := stridesOf(x.Shape)
	os := make(tensor.Shape, len(perm))
	offs := make([][]int, len(perm))
	identity := true
	for i, p := range perm {
		os[i] = x.Shape[p]
		offs[i] = axisOffs(0, 1, x.Shape[p], st[p])
		if p != i {
			identity = false
		}
	}
	if identity {
		return x
	}
	return gatherView(ctx, x, os, 0, offs)
}

func transpose(op string) Builder {
	return simple(func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(op, in, 2); err != nil {
			return nil, err
		}
		perm, err := permOf(op, in[1], len(in[0].Shape))
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{transposeTensor(ctx, in[0], perm)}, nil
	})
}

func invertPermutation(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if err := checkInputs("InvertPermutation", in, 1); err != nil {
		return nil, err
	}
	p, err := vectorInts("InvertPermutation", "x", in[0], false)
	if err != nil {
		return nil, err
	}
	n := len(p)
	inv := make([]int, n)
	seen := make([]bool, n)
	for i, v := range p {
		if v < 0 || v >= int64(n) {
			return nil, Errorf("%d is not between 0 and %d", v, n)
		}
		if seen[v] {
			return nil, Errorf("%d is duplicated in the input.", v)
		}
		seen[v] = true
		inv[v] = i
	}
	t, err := intTensor(ctx, in[0].DType, tensor.Shape{n}, inv)
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{t}, nil
}
