package kernels

import (
	"sort"

	"github.com/tfserve/tfserve/tensor"
)

// topKRow writes the indices of the k largest values of row into idx,
// largest first; equal values keep ascending index order, and NaN sorts
// above everything (as in TF, which compares with std::greater on a
// stable order).
func topKRow[T number](row []T, k int, idx []int) {
	greater := func(a, b int) bool { // does row[a] rank before row[b]?
		va, vb := row[a], row[b]
		if va != va || vb != vb {
			if va != va && vb != vb {
				return a < b
			}
			return va != va
		}
		if va != vb {
			return va > vb
		}
		return a < b
	}
	n := len(row)
	if k*4 >= n || k > 64 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		sort.Slice(all, func(i, j int) bool { return greater(all[i], all[j]) })
		copy(idx, all[:k])
		return
	}
	// Small k: insertion into a sorted prefix.
	m := 0
	for i := 0; i < n; i++ {
		if m == k && !greater(i, idx[k-1]) {
			continue
		}
		p := m
		if m < k {
			m++
		} else {
			p = k - 1
		}
		for p > 0 && greater(i, idx[p-1]) {
			idx[p] = idx[p-1]
			p--
		}
		idx[p] = i
	}
}

func topKT[T number](vals []T, out []T, outIdx []int, rows, n, k int) {
	for r := 0; r < rows; r++ {
		row := vals[r*n : (r+1)*n]
		idx := outIdx[r*k : (r+1)*k]
		topKRow(row, k, idx)
		for j, i := range idx {
			out[r*k+j] = row[i]
		}
	}
}

func topKBuilder(attrs Attrs, _ int) (Func, error) {
	it := attrs.Type("index_type", tensor.Int32)
	if it != tensor.Int32 && it != tensor.Int64 {
		return nil, buildErr("TopKV2", "index_type must be int32 or int64, got %v", it)
	}
	return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs("TopKV2", in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		k64, err := scalarInt("TopKV2", "k", in[1])
		if err != nil {
			return nil, err
		}
		if k64 < 0 {
			return nil, Errorf("Need k >= 0, got %d", k64)
		}
		r := len(x.Shape)
		if r < 1 {
			return nil, Errorf("input must be >= 1-D, got shape %v", x.Shape)
		}
		n := x.Shape[r-1]
		if k64 > int64(n) {
			return nil, Errorf("input must have at least k columns. Had %d, needed %d", n, k64)
		}
		k := int(k64)
		rows := prod(x.Shape, 0, r-1)
		os := x.Shape.Clone()
		os[r-1] = k
		vals := ctx.New(x.DType, os)
		idx := make([]int, rows*k)
		if k > 0 {
			switch d := x.Data.(type) {
			case []float32:
				topKT(d, vals.F32(), idx, rows, n, k)
			case []float64:
				topKT(d, vals.F64(), idx, rows, n, k)
			case []int32:
				topKT(d, vals.I32(), idx, rows, n, k)
			case []int64:
				topKT(d, vals.I64(), idx, rows, n, k)
			case []int8:
				topKT(d, vals.Data.([]int8), idx, rows, n, k)
			case []int16:
				topKT(d, vals.Data.([]int16), idx, rows, n, k)
			case []uint8:
				topKT(d, vals.Data.([]uint8), idx, rows, n, k)
			case []uint16:
				topKT(d, vals.Data.([]uint16), idx, rows, n, k)
			case []uint32:
				topKT(d, vals.Data.([]uint32), idx, rows, n, k)
			case []uint64:
				topKT(d, vals.Data.([]uint64), idx, rows, n, k)
			default:
				return nil, noKernel("TopKV2", x.DType)
			}
		}
		it2, err := intTensor(ctx, it, os, idx)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{vals, it2}, nil
	}, nil
}
