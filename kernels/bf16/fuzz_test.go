package bf16

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzMatMul feeds arbitrary dimensions, leading dimensions and slice
// lengths. Pack and MatMul must never panic nor write C past its n
// columns; when they accept the input, the assembly and Go kernels must
// agree bit for bit.
func FuzzMatMul(f *testing.F) {
	f.Add(uint8(3), uint8(17), uint8(7), uint8(0), uint8(0), uint8(0), int16(0), int16(0), int16(0), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(200), uint8(129), uint8(1), uint8(2), uint8(0), int16(-1), int16(0), int16(0), uint8(3), uint64(2))
	f.Add(uint8(9), uint8(1), uint8(40), uint8(0), uint8(0), uint8(5), int16(0), int16(-3), int16(2), uint8(1), uint64(3))
	f.Add(uint8(0), uint8(4), uint8(0), uint8(0), uint8(0), uint8(0), int16(0), int16(0), int16(-20), uint8(2), uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k, padA, padB, padC uint8, dA, dB, dC int16, flags uint8, seed uint64) {
		M, N, K := int(m%20), int(n), int(k)
		trans, acc := flags&1 != 0, flags&2 != 0
		br, bc := K, N
		if trans {
			br, bc = N, K
		}
		// Leading dimensions may be too small (padX wraps to "negative").
		lda := K + int(int8(padA))%4
		ldb := bc + int(int8(padB))%4
		ldc := N + int(int8(padC))%4
		size := func(rows, ld int, d int16) int { return max(rows*ld+int(d)%8, 0) }
		r := rand.New(rand.NewPCG(seed, 1))
		rnd := func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
			return s
		}
		a, b, c := rnd(size(M, lda, dA)), rnd(size(br, ldb, dB)), rnd(size(M, ldc, dC))
		pb, err := Pack(trans, K, N, b, ldb)
		if err != nil {
			return
		}
		got := append([]float32(nil), c...)
		if err := (&Workspace{}).MatMul(M, a, lda, pb, acc, got, ldc); err != nil {
			return
		}
		want := append([]float32(nil), c...)
		if err := (&Workspace{PureGo: true}).MatMul(M, a, lda, pb, acc, want, ldc); err != nil {
			t.Fatalf("Go kernel refused what the other accepted: %v", err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("element %d: %v vs Go %v", i, got[i], want[i])
			}
			if col := i % max(ldc, 1); (col >= N || i >= M*ldc) && got[i] != c[i] {
				t.Fatalf("element %d outside C changed", i)
			}
		}
	})
}
