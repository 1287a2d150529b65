package scann

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// The encoders below write ScaNN's serialized state in the layout
// ../shared/docs/scann.md documents, so an index exported by our own code
// exercises the sections the fixture lacks (float or int8 dataset for
// reordering, dp_norms).

func msg(fields ...[]byte) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f...)
	}
	return b
}

func bytesField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varintField(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func encodeConfig(numNeighbors, leaves, spill, blocks, dpb, dim int) []byte {
	part := msg(varintField(3, uint64(leaves)),
		bytesField(21, msg(varintField(1, 4), varintField(3, uint64(spill)))))
	proj := msg(varintField(1, 1), varintField(2, uint64(blocks)), varintField(3, uint64(dpb)), varintField(9, uint64(dim)))
	ah := msg(bytesField(1, proj), varintField(2, 16))
	return msg(varintField(3, uint64(numNeighbors)),
		bytesField(5, bytesField(1, []byte("DotProductDistance"))),
		bytesField(8, part),
		bytesField(13, bytesField(5, ah)))
}

func encodePartitioner(centers [][]float32, deeper bool) []byte {
	var root []byte
	for _, c := range centers {
		var packed []byte
		for _, v := range c {
			packed = protowire.AppendFixed64(packed, math.Float64bits(float64(v)))
		}
		root = append(root, bytesField(1, bytesField(1, packed))...)
	}
	for i := range centers {
		child := varintField(5, uint64(i))
		if deeper {
			child = append(bytesField(1, bytesField(1, protowire.AppendFixed64(nil, 0))), child...)
		}
		root = append(root, bytesField(3, child)...)
	}
	return msg(varintField(1, uint64(len(centers))), bytesField(2, bytesField(1, bytesField(1, root))))
}

func encodeCodebook(cb [][][]float32) []byte {
	var top []byte
	for _, block := range cb {
		var sub []byte
		for _, center := range block {
			var packed []byte
			for _, v := range center {
				packed = protowire.AppendFixed32(packed, math.Float32bits(v))
			}
			sub = append(sub, bytesField(1, msg(varintField(1, 2), bytesField(4, packed)))...)
		}
		top = append(top, bytesField(1, sub)...)
	}
	return top
}

func str(b []byte) *tensor.Tensor {
	return tensor.FromSlice(tensor.Shape{1}, []string{string(b)})
}

func absent(dt tensor.DType) *tensor.Tensor { return tensor.New(dt, tensor.Shape{}) }

// exportState builds a random tree-AH index (L leaves, dim 8, 4 blocks of
// 2 dims) and returns the 9 TensorsToScann inputs plus the float vectors.
func exportState(r *rand.Rand, n int, withDataset, deeper bool) ([]*tensor.Tensor, []float32) {
	const L, dim, blocks, dpb = 4, 8, 4, 2
	centers := make([][]float32, L)
	for i := range centers {
		centers[i] = make([]float32, dim)
		for j := range centers[i] {
			centers[i][j] = float32(r.NormFloat64())
		}
	}
	cb := make([][][]float32, blocks)
	for b := range cb {
		cb[b] = make([][]float32, 16)
		for c := range cb[b] {
			cb[b][c] = []float32{float32(r.NormFloat64() * 0.3), float32(r.NormFloat64() * 0.3)}
		}
	}
	tokens := make([]int32, n)
	codes := make([]uint8, n*blocks)
	vecs := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		tokens[i] = int32(r.IntN(L))
		for b := 0; b < blocks; b++ {
			codes[i*blocks+b] = uint8(r.IntN(16))
		}
		for j := 0; j < dim; j++ {
			// The stored float vector differs from the quantized one, so
			// reordering visibly changes the answer.
			vecs[i*dim+j] = centers[tokens[i]][j] + float32(r.NormFloat64())
		}
	}
	in := []*tensor.Tensor{
		absent(tensor.Float32),
		str(encodeConfig(5, L, L, blocks, dpb, dim)),
		str(encodePartitioner(centers, deeper)),
		tensor.FromSlice(tensor.Shape{n}, tokens),
		str(encodeCodebook(cb)),
		tensor.FromSlice(tensor.Shape{n, blocks}, codes),
		absent(tensor.Int8), absent(tensor.Float32), absent(tensor.Float32),
	}
	if withDataset {
		in[0] = tensor.FromSlice(tensor.Shape{n, dim}, vecs)
	}
	return in, vecs
}

func search(t *testing.T, handle *tensor.Tensor, q []float32, nq, k, reorder int) ([]int32, []float32, error) {
	reg := Registry(func(string) (kernels.Builder, bool) { return nil, false }, Options{})
	b, _ := reg("Scann>ScannSearchBatched")
	fn, err := b(kernels.Attrs{}, 6)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn(&kernels.Context{}, []*tensor.Tensor{handle, tensor.FromSlice(tensor.Shape{nq, len(q) / nq}, q),
		tensor.Scalar(int32(k)), tensor.Scalar(int32(reorder)), tensor.Scalar(int32(-1)), tensor.Scalar(true)})
	if err != nil {
		return nil, nil, err
	}
	return out[0].I32(), out[1].F32(), nil
}

func toScann(t *testing.T, in []*tensor.Tensor) (*tensor.Tensor, error) {
	reg := Registry(func(string) (kernels.Builder, bool) { return nil, false }, Options{})
	b, _ := reg("Scann>TensorsToScann")
	fn, err := b(kernels.Attrs{}, 9)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn(&kernels.Context{}, in)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// TestOwnExportWithFloatDataset: with a float dataset stored, ScaNN's
// reordering is exact, so the results equal the exact top-k over those
// vectors; without it, the quantized scores give other answers.
func TestOwnExportWithFloatDataset(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, k, dim, nq = 300, 5, 8, 6
	in, vecs := exportState(r, n, true, false)
	h, err := toScann(t, in)
	if err != nil {
		t.Fatal(err)
	}
	q := make([]float32, nq*dim)
	for i := range q {
		q[i] = float32(r.NormFloat64())
	}
	ids, scores, err := search(t, h, q, nq, k, n)
	if err != nil {
		t.Fatal(err)
	}
	for qi := 0; qi < nq; qi++ {
		type cand struct {
			id int
			s  float32
		}
		var all []cand
		for i := 0; i < n; i++ {
			var s float32
			for j := 0; j < dim; j++ {
				s += q[qi*dim+j] * vecs[i*dim+j]
			}
			all = append(all, cand{i, s})
		}
		sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
		for j := 0; j < k; j++ {
			got := ids[qi*k+j]
			if int(got) != all[j].id || math.Abs(float64(scores[qi*k+j]-all[j].s)) > 1e-4 {
				t.Fatalf("query %d rank %d: got %d (%v), exact %d (%v)", qi, j, got, scores[qi*k+j], all[j].id, all[j].s)
			}
		}
	}
	// The same state without the dataset answers from quantized codes.
	in2, _ := exportState(rand.New(rand.NewPCG(1, 2)), n, false, false)
	h2, err := toScann(t, in2)
	if err != nil {
		t.Fatal(err)
	}
	ids2, _, err := search(t, h2, q, nq, k, -1)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range ids {
		if ids[i] == ids2[i] {
			same++
		}
	}
	if same == len(ids) {
		t.Error("reordering over the float dataset changed nothing; the test cannot tell the paths apart")
	}
}

func TestOwnExportRejectsDeeperTree(t *testing.T) {
	in, _ := exportState(rand.New(rand.NewPCG(3, 4)), 50, false, true)
	_, err := toScann(t, in)
	if err == nil || !strings.Contains(err.Error(), "partitioner") {
		t.Fatalf("want a partitioner error for a two-level tree, got %v", err)
	}
	t.Log(err)
}
