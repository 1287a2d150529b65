// Package bf16 multiplies float32 activations by weights stored in
// bfloat16 (bf16: the top 16 bits of a float32: sign, 8 exponent bits, 7
// mantissa bits), for tfserve's opt-in reduced-precision layers (a model's
// assets.extra/tfserve.json "precision": "bf16").
//
// # Numerics
//
// Pack rounds each float32 weight to bf16 once, at load, to nearest even
// (FromFloat32: denormals become signed zeros, NaNs stay quiet NaNs). Each
// MatMul call rounds the rows of A to bf16 the same way, then computes
//
//	C[i][j] = (C[i][j] if accumulate, else 0)
//	          + for each pair p in order: (acc + A[2p+1]·B[2p+1][j]) + A[2p]·B[2p][j]
//
// in float32, each addition rounded to nearest even; every product of two
// bf16 values is exact in float32. This is VDPBF16PS's definition (Intel
// SDM: the odd element of each pair first), which the assembly kernel runs
// on CPUs with AVX-512 BF16 (amd64, checked at run time with
// golang.org/x/sys/cpu); elsewhere, under the purego build tag, or with
// Workspace.PureGo, portable Go computes the same sums in the same order.
// The two agree bit for bit on finite inputs as long as no product or
// partial sum falls below float32's normal range (|x| < 2⁻¹²⁶), which real
// weights and activations never approach: VDPBF16PS flushes such values to
// zero and Go keeps them, so there they differ by less than 2⁻¹²⁶ per term.
// (Infinities and NaNs propagate in both; NaN payloads may differ.)
//
// Against float32 weights and activations, the relative error of each
// product is at most 2⁻⁷+2⁻¹⁶ (two roundings to 8 significant bits, 2⁻⁸
// each), so a dot product is off by at most about 2⁻⁷·Σ|A[p]·B[p][j]|
// plus float32 summation error.
//
// # Layout
//
// A Matrix holds op(B), k×n, as ⌈k/2⌉ pair rows of n' = ⌈n/16⌉·16 columns:
// pair row p holds, for each column j, B[2p][j] and B[2p+1][j] side by
// side (one 32-bit word), zero past row k and column n. The kernel
// broadcasts one pair of A and multiplies it into up to 12 chunks of 16
// columns at once; MatMul blocks k into 1024-row slabs so a slab of columns
// stays in L2 while rows of A stream past it.
package bf16

import (
	"errors"
	"fmt"
	"math"
)

// FromFloat32 rounds f to bf16 as VCVTNE2PS2BF16 does: to nearest even,
// denormals to zero (keeping the sign), NaNs to quiet NaNs, overflow to
// infinity.
func FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	switch exp := b & 0x7f800000; {
	case exp == 0:
		return uint16(b>>16) & 0x8000
	case exp == 0x7f800000:
		if b&0x007fffff != 0 {
			return uint16(b>>16) | 0x40
		}
		return uint16(b >> 16)
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// ToFloat32 widens a bf16 value to float32 (exactly).
func ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Round returns f rounded to bf16 precision (ToFloat32(FromFloat32(f))).
func Round(f float32) float32 { return ToFloat32(FromFloat32(f)) }

// Kernel shape: columns per chunk, the widest kernel per row count (keep
// maxChunks in sync with asm_gen.go), the rows per kernel call and the
// k-slab in pairs.
const (
	chunk   = 16
	maxRows = 4
	kcPairs = 512
)

var maxChunks = [maxRows]int{24, 10, 7, 6}

// Matrix is a k×n weight matrix rounded to bf16 and packed for MatMul. It is
// read-only after Pack and may be shared between goroutines.
type Matrix struct {
	k, n   int
	kp, np int      // pair rows ⌈k/2⌉, padded columns ⌈n/16⌉·16
	data   []uint16 // kp pair rows of np (lo, hi) pairs
}

// Rows returns k, the number of rows of the packed op(B).
func (m *Matrix) Rows() int { return m.k }

// Cols returns n, the number of columns of the packed op(B).
func (m *Matrix) Cols() int { return m.n }

// maxElems bounds a packed matrix: 2³⁴ bf16 values (32 GiB), far past any
// loader budget, so that index arithmetic cannot overflow.
const maxElems = 1 << 34

// Pack rounds op(B) to bf16 and packs it: B is stored k×n (ldb >= n) or,
// when transB, n×k (ldb >= k).
func Pack(transB bool, k, n int, b []float32, ldb int) (*Matrix, error) {
	if k < 0 || n < 0 {
		return nil, fmt.Errorf("bf16 pack: negative dimension (k=%d n=%d)", k, n)
	}
	const limit = 1 << 31
	if k > limit || n > limit {
		return nil, fmt.Errorf("bf16 pack: dimension too large (k=%d n=%d)", k, n)
	}
	kp, np := (k+1)/2, (n+chunk-1)/chunk*chunk
	if kp > 0 && np > maxElems/2/kp {
		return nil, fmt.Errorf("bf16 pack: %d×%d is larger than %d values", k, n, maxElems)
	}
	sr, sc := k, n
	if transB {
		sr, sc = n, k
	}
	if err := checkMatrix("B", sr, sc, b, ldb); err != nil {
		return nil, fmt.Errorf("bf16 pack: %w", err)
	}
	m := &Matrix{k: k, n: n, kp: kp, np: np, data: make([]uint16, kp*np*2)}
	at := func(p, j int) float32 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for p := 0; p < k; p++ {
		row := m.data[(p/2)*np*2:]
		for j := 0; j < n; j++ {
			row[j*2+p%2] = FromFloat32(at(p, j))
		}
	}
	return m, nil
}

// checkMatrix checks that x holds a rows×cols matrix with leading
// dimension ld.
func checkMatrix(name string, rows, cols int, x []float32, ld int) error {
	if rows == 0 || cols == 0 {
		if ld < 0 {
			return fmt.Errorf("%s: negative leading dimension %d", name, ld)
		}
		return nil
	}
	if ld < cols {
		return fmt.Errorf("%s: leading dimension %d < %d", name, ld, cols)
	}
	if rows-1 > (math.MaxInt-cols)/ld {
		return fmt.Errorf("%s: %d×%d with leading dimension %d is too large", name, rows, cols, ld)
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		return fmt.Errorf("%s: slice of %d elements is shorter than %d (%d×%d, ld %d)", name, len(x), need, rows, cols, ld)
	}
	return nil
}

// Workspace holds the bf16 copy of A. The zero value is ready to use; it
// is not safe for concurrent use. Once it has grown, calls allocate
// nothing.
type Workspace struct {
	// PureGo forces the portable Go kernel even where the assembly one is
	// available (for tests and comparisons).
	PureGo bool

	a []uint32 // rows of A as bf16 pairs, ⌈k/2⌉ per row
}

// Accelerated reports whether the AVX-512 BF16 kernels run on this machine
// (amd64 with AVX-512 F, BW and BF16, without the purego build tag).
func Accelerated() bool { return hasAsm }

// MatMul computes C = A·B, or C += A·B when accumulate, for m rows: A is
// m×k (row i at a[i*lda:], lda >= k), B = b (k×n), C is m×n (row i at
// c[i*ldc:], ldc >= n). A is rounded to bf16 (see the package doc). Without
// accumulate C is not read. It returns an error, and leaves C untouched, if
// a dimension is negative, a leading dimension too small or a slice too
// short.
func (w *Workspace) MatMul(m int, a []float32, lda int, b *Matrix, accumulate bool, c []float32, ldc int) error {
	if b == nil {
		return errors.New("bf16 matmul: nil matrix")
	}
	if m < 0 {
		return fmt.Errorf("bf16 matmul: negative row count %d", m)
	}
	k, n := b.k, b.n
	if err := checkMatrix("C", m, n, c, ldc); err != nil {
		return fmt.Errorf("bf16 matmul: %w", err)
	}
	if err := checkMatrix("A", m, k, a, lda); err != nil {
		return fmt.Errorf("bf16 matmul: %w", err)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if m > maxElems/2/max(b.kp, 1) {
		return fmt.Errorf("bf16 matmul: %d rows of %d are more than %d values", m, k, maxElems)
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return nil
	}
	kp := b.kp
	if cap(w.a) < m*kp {
		w.a = make([]uint32, m*kp)
	}
	ap := w.a[:m*kp]
	asm := hasAsm && !w.PureGo
	for i := 0; i < m; i++ {
		convertRow(ap[i*kp:(i+1)*kp], a[i*lda:i*lda+k], asm)
	}
	if !asm {
		goMatMul(m, ap, b, accumulate, c, ldc)
		return nil
	}
	asmMatMul(m, ap, b, accumulate, c, ldc)
	return nil
}

// convertRow writes src (k floats) as bf16 pairs into dst (⌈k/2⌉ words),
// the last pair's high half zero when k is odd.
func convertRow(dst []uint32, src []float32, asm bool) {
	done := 0
	if asm {
		done = len(src) &^ 31
		if done > 0 {
			cvtPairs(&dst[0], &src[0], done)
		}
	}
	for p := done / 2; p < len(dst); p++ {
		lo := uint32(FromFloat32(src[2*p]))
		var hi uint32
		if 2*p+1 < len(src) {
			hi = uint32(FromFloat32(src[2*p+1]))
		}
		dst[p] = lo | hi<<16
	}
}

// dotKernel is an assembly kernel; see asm_gen.go for the contract. lda,
// ldb and ldc are in elements (uint32, uint16, float32).
type dotKernel func(kp int, a *uint32, lda int, b *uint16, ldb int, c *float32, ldc int, loadC int, mask int)

// asmMatMul runs the assembly kernels over m rows of converted A: k in
// slabs of kcPairs pairs, columns in balanced blocks of at most
// maxChunks[min(m, 4)-1] chunks, rows in blocks of 4.
func asmMatMul(m int, ap []uint32, b *Matrix, accumulate bool, c []float32, ldc int) {
	kp, n := b.kp, b.n
	nch := b.np / chunk
	width := maxChunks[min(m, maxRows)-1]
	blocks := (nch + width - 1) / width
	lastMask := 0xffff
	if r := n % chunk; r != 0 {
		lastMask = 1<<r - 1
	}
	ldb := b.np * 2
	for pc := 0; pc < kp; pc += kcPairs {
		kcb := min(kcPairs, kp-pc)
		load := 0
		if accumulate || pc > 0 {
			load = 1
		}
		for blk := 0; blk < blocks; blk++ {
			q0, q1 := blk*nch/blocks, (blk+1)*nch/blocks
			mask := 0xffff
			if q1 == nch {
				mask = lastMask
			}
			bp := &b.data[pc*ldb+q0*chunk*2]
			for i := 0; i < m; i += maxRows {
				rows := min(maxRows, m-i)
				asmKernels[rows-1][q1-q0-1](kcb, &ap[i*kp+pc], kp, bp, ldb, &c[i*ldc+q0*chunk], ldc, load, mask)
			}
		}
	}
}

// goMatMul is the portable kernel: the same sums, in the same order, as
// the assembly one.
func goMatMul(m int, ap []uint32, b *Matrix, accumulate bool, c []float32, ldc int) {
	kp, n, np := b.kp, b.n, b.np
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if !accumulate {
			clear(row)
		}
		for p, pair := range ap[i*kp : (i+1)*kp] {
			a0 := ToFloat32(uint16(pair))
			a1 := ToFloat32(uint16(pair >> 16))
			w := b.data[p*np*2 : p*np*2+n*2]
			for j := range row {
				// Two statements: each sum is rounded on its own, and
				// each product is exact.
				acc := row[j] + a1*ToFloat32(w[2*j+1])
				row[j] = acc + a0*ToFloat32(w[2*j])
			}
		}
	}
}

// Bytes returns the size of the packed weights in bytes.
func (m *Matrix) Bytes() int { return 2 * len(m.data) }

// PackedBytes is the size Pack would allocate for a k×n matrix (-1 for
// negative or too large dimensions), to charge a budget beforehand.
func PackedBytes(k, n int) int64 {
	if k < 0 || n < 0 || k > 1<<31 || n > 1<<31 {
		return -1
	}
	return int64((k+1)/2) * int64((n+chunk-1)/chunk*chunk) * 4
}
