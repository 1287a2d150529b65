package gemm

import (
	"math/rand/v2"
	"testing"
)

// FuzzSgemm feeds arbitrary dimensions, leading dimensions and slice
// lengths. Sgemm must never panic; when it accepts the input, the result
// must match the reference.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint8(0), uint8(0), int16(0), int16(0), int16(0), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(30), uint8(1), uint8(1), uint8(2), uint8(0), int16(-1), int16(0), int16(0), uint8(3), uint64(2))
	f.Add(uint8(9), uint8(1), uint8(40), uint8(0), uint8(0), uint8(5), int16(0), int16(-3), int16(2), uint8(1), uint64(3))
	f.Add(uint8(0), uint8(4), uint8(4), uint8(0), uint8(0), uint8(0), int16(0), int16(0), int16(-20), uint8(2), uint64(4))
	f.Fuzz(func(t *testing.T, m, n, k, padA, padB, padC uint8, dA, dB, dC int16, flags uint8, seed uint64) {
		M, N, K := int(m%50), int(n%50), int(k%50)
		transA, transB := flags&1 != 0, flags&2 != 0
		ar, ac := M, K
		if transA {
			ar, ac = K, M
		}
		br, bc := K, N
		if transB {
			br, bc = N, K
		}
		// Leading dimensions may be too small (padX wraps to "negative").
		lda := ac + int(int8(padA))%4
		ldb := bc + int(int8(padB))%4
		ldc := N + int(int8(padC))%4
		size := func(rows, ld int, d int16) int {
			n := rows*ld + int(d)%8
			return max(n, 0)
		}
		r := rand.New(rand.NewPCG(seed, 1))
		a := randSlice(r, size(ar, lda, dA))
		b := randSlice(r, size(br, ldb, dB))
		c := randSlice(r, size(M, ldc, dC))
		alpha, beta := float32(1), float32(flags>>2&3)*0.5
		want := append([]float32(nil), c...)
		err := (&Workspace{PureGo: flags&16 != 0}).Sgemm(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc)
		if err != nil {
			return
		}
		if M > 0 && N > 0 {
			check(t, c, refGemm(transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, want, ldc), K)
		}
	})
}
