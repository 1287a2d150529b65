package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestTopKTies(t *testing.T) {
	x := f32(sh(2, 5), 1, 3, 3, 2, 3, 5, 5, 5, 5, 5)
	for _, k := range []int32{0, 1, 3, 5} {
		out := mustRun(t, "TopKV2", nil, x, sc32(k))
		// Reference: stable selection of max repeatedly.
		var wantV []float32
		var wantI []int32
		for row := 0; row < 2; row++ {
			used := make([]bool, 5)
			for j := 0; j < int(k); j++ {
				best := -1
				for c := 0; c < 5; c++ {
					if !used[c] && (best < 0 || x.F32()[row*5+c] > x.F32()[row*5+best]) {
						best = c
					}
				}
				used[best] = true
				wantV = append(wantV, x.F32()[row*5+best])
				wantI = append(wantI, int32(best))
			}
		}
		if wantV == nil {
			wantV, wantI = []float32{}, []int32{}
		}
		wantTensor(t, out[0], f32(sh(2, int(k)), wantV...))
		wantTensor(t, out[1], i32(sh(2, int(k)), wantI...))
	}
	// Large input exercises the sort path and the insertion path alike.
	r := rand.New(rand.NewPCG(1, 1))
	big := make([]int32, 1000)
	for i := range big {
		big[i] = int32(r.IntN(20))
	}
	for _, k := range []int32{10, 900} {
		out := mustRun(t, "TopKV2", nil, i32(sh(1000), big...), sc32(k))
		vals, idx := out[0].I32(), out[1].I32()
		for j := 1; j < int(k); j++ {
			if vals[j] > vals[j-1] || (vals[j] == vals[j-1] && idx[j] < idx[j-1]) {
				t.Fatalf("k=%d: order broken at %d: (%d,%d) after (%d,%d)", k, j, vals[j], idx[j], vals[j-1], idx[j-1])
			}
			if big[idx[j]] != vals[j] {
				t.Fatalf("value/index mismatch")
			}
		}
	}
	mustFail(t, "TopKV2", nil, "input must have at least k columns", x, sc32(6))
}
