// Package gemm is tfserve's single-precision matrix multiply (SGEMM).
//
// It computes
//
//	C = alpha * op(A) * op(B) + beta * C
//
// on row-major float32 matrices, where op(X) is X or Xᵀ. op(A) is m×k,
// op(B) is k×n and C is m×n. Leading dimensions follow the BLAS row-major
// convention: element (i, j) of a stored matrix X is x[i*ldx+j], so for A
// stored untransposed (m×k) lda >= k, for A stored transposed (k×m)
// lda >= m, and likewise for B; ldc >= n. As in BLAS, when beta == 0 C is not
// read (it may hold NaNs), and when k == 0 or alpha == 0 the product is not
// computed.
//
// The algorithm is the BLIS/GotoBLAS one: op(B) is packed into k-blocks of
// micro-panels 24 columns wide, op(A) into micro-panels 4 rows high, and a
// register-blocked micro-kernel multiplies one A micro-panel by one B
// micro-panel into a 4×24 tile of C (blocks: k 256, m 96, n 3072). The
// assembly path reads an untransposed A in place instead of packing it,
// which pays off for the small k and m of recurrent steps. On amd64 CPUs with AVX2 and FMA (checked
// at run time with golang.org/x/sys/cpu) the micro-kernels are Go assembly;
// elsewhere, under the purego build tag, or when Workspace.PureGo is set, a
// portable Go micro-kernel is used. All work is done on the calling
// goroutine.
//
// A Workspace holds the packing buffers. It is not safe for concurrent use;
// give each goroutine its own. Once its buffers have grown, calls allocate
// nothing. A matrix used as B many times (layer weights) can be packed once
// with PackB and multiplied with Workspace.SgemmPacked, which then only
// packs A: this is what the RNN kernels do for their recurrent step.
package gemm

import (
	"errors"
	"fmt"
	"unsafe"
)

// Blocking parameters. mr×nr is the micro-kernel tile; kc, mc and nc are the
// cache blocks of k, m and n (mc is a multiple of mr, nc of nr).
const (
	mr = 4
	nr = 24
	kc = 256
	mc = 96
	nc = 3072
)

// Workspace holds packing buffers for Sgemm. The zero value is ready to use.
// It is not safe for concurrent use.
type Workspace struct {
	// PureGo forces the portable Go micro-kernel even where the assembly
	// one is available (for tests and comparisons).
	PureGo bool

	packA []float32
	packB []float32
	tile  [mr * nr]float32
}

// PackedB is a k×n matrix op(B) stored in the micro-kernel's panel layout,
// for repeated use as the right operand of Workspace.SgemmPacked. It is
// read-only after PackB and may be shared between goroutines.
type PackedB struct {
	k, n int
	// data holds ceil(n/nr) panels; panel q holds rows 0..k-1 of columns
	// q*nr..q*nr+nr-1, nr values per row, zero-padded past column n.
	data []float32
}

// Rows returns k, the number of rows of the packed op(B).
func (p *PackedB) Rows() int { return p.k }

// Cols returns n, the number of columns of the packed op(B).
func (p *PackedB) Cols() int { return p.n }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with a fresh workspace. Use
// Workspace.Sgemm in loops to avoid allocating packing buffers.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	var ws Workspace
	return ws.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C; see the package doc for the
// layout. It returns an error, and leaves C untouched, if a dimension is
// negative, a leading dimension is too small or a slice too short.
func (w *Workspace) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkDims(m, n, k); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	if err := checkMatrix("C", false, m, n, c, ldc); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return nil
	}
	if err := checkMatrix("A", transA, m, k, a, lda); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	if err := checkMatrix("B", transB, k, n, b, ldb); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	w.run(transA, m, n, k, alpha, a, lda, bSource{b: b, ldb: ldb, transB: transB}, beta, c, ldc)
	return nil
}

// SgemmPacked computes C = alpha*op(A)*B + beta*C where B = pb (k×n) was
// packed by PackB: op(A) is m×k with k = pb.Rows(), C is m×n with
// n = pb.Cols().
func (w *Workspace) SgemmPacked(transA bool, m int, alpha float32, a []float32, lda int,
	pb *PackedB, beta float32, c []float32, ldc int) error {
	if pb == nil {
		return errors.New("sgemm: nil packed B")
	}
	k, n := pb.k, pb.n
	if err := checkDims(m, n, k); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	if err := checkMatrix("C", false, m, n, c, ldc); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 || alpha == 0 {
		scale(m, n, beta, c, ldc)
		return nil
	}
	if err := checkMatrix("A", transA, m, k, a, lda); err != nil {
		return fmt.Errorf("sgemm: %w", err)
	}
	w.run(transA, m, n, k, alpha, a, lda, bSource{packed: pb}, beta, c, ldc)
	return nil
}

// PackB packs op(B) (k×n; B stored k×n with ldb >= n, or n×k with ldb >= k
// when transB) for Workspace.SgemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if err := checkDims(1, n, k); err != nil {
		return nil, fmt.Errorf("pack B: %w", err)
	}
	if k > 0 && n > 0 {
		if err := checkMatrix("B", transB, k, n, b, ldb); err != nil {
			return nil, fmt.Errorf("pack B: %w", err)
		}
	}
	panels := (n + nr - 1) / nr
	p := &PackedB{k: k, n: n, data: make([]float32, panels*k*nr)}
	packBPanels(p.data, transB, b, ldb, 0, k, 0, n)
	return p, nil
}

func checkDims(m, n, k int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("negative dimension (m=%d n=%d k=%d)", m, n, k)
	}
	const limit = 1 << 31
	if m > limit || n > limit || k > limit {
		return fmt.Errorf("dimension too large (m=%d n=%d k=%d)", m, n, k)
	}
	return nil
}

// checkMatrix checks that x holds op(X), a rows×cols matrix, with leading
// dimension ld (X is stored cols×rows when trans).
func checkMatrix(name string, trans bool, rows, cols int, x []float32, ld int) error {
	sr, sc := rows, cols // stored shape
	if trans {
		sr, sc = cols, rows
	}
	if sr == 0 || sc == 0 {
		if ld < 0 {
			return fmt.Errorf("%s: negative leading dimension %d", name, ld)
		}
		return nil
	}
	if ld < sc || ld < 1 {
		return fmt.Errorf("%s: leading dimension %d < %d", name, ld, sc)
	}
	need := (sr-1)*ld + sc
	if need/ld < sr-1 { // overflow
		return fmt.Errorf("%s: %d×%d with leading dimension %d is too large", name, sr, sc, ld)
	}
	if len(x) < need {
		return fmt.Errorf("%s: slice of %d elements is shorter than %d (%d×%d, ld %d)", name, len(x), need, sr, sc, ld)
	}
	return nil
}

// scale sets C = beta*C (C = 0 when beta == 0, without reading C).
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta == 1 {
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// bSource is either an unpacked op(B) or a PackedB.
type bSource struct {
	b      []float32
	ldb    int
	transB bool
	packed *PackedB
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// run is the blocked driver. Dimensions and slices have been checked.
func (w *Workspace) run(transA bool, m, n, k int, alpha float32, a []float32, lda int,
	bs bSource, beta float32, c []float32, ldc int) {
	kern := w.kernels()
	// An untransposed A is read in place by the direct kernels: packing it
	// costs more than it saves for the small k of RNN steps.
	var dkern *[mr]directKernel
	if !transA {
		dkern = w.directKernels()
	}
	if dkern == nil {
		aBlock := (min(m, mc) + mr - 1) / mr * mr
		w.packA = grow(w.packA, aBlock*min(k, kc))
	}
	if bs.packed == nil {
		nb := (min(n, nc) + nr - 1) / nr * nr
		w.packB = grow(w.packB, nb*min(k, kc))
	}
	for jc := 0; jc < n; jc += nc {
		ncb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcb := min(kc, k-pc)
			// B panels for this (pc, jc) block: panel q starts at
			// bBase + q*bStride.
			var bData []float32
			var bBase, bStride int
			if bs.packed != nil {
				bData = bs.packed.data
				bStride = bs.packed.k * nr
				bBase = (jc/nr)*bStride + pc*nr
			} else {
				packBPanels(w.packB, bs.transB, bs.b, bs.ldb, pc, kcb, jc, ncb)
				bData = w.packB
				bStride = kcb * nr
			}
			betaEff, loadC := beta, 1
			if pc > 0 {
				betaEff = 1
			} else if beta == 0 {
				loadC = 0
			}
			for ic := 0; ic < m; ic += mc {
				mcb := min(mc, m-ic)
				if dkern == nil {
					packAPanels(w.packA, transA, a, lda, ic, mcb, pc, kcb)
				}
				for jr := 0; jr < ncb; jr += nr {
					nrb := min(nr, ncb-jr)
					bp := &bData[bBase+(jr/nr)*bStride]
					for ir := 0; ir < mcb; ir += mr {
						mrb := min(mr, mcb-ir)
						coff := (ic+ir)*ldc + jc + jr
						cp, cld, cbeta, cload := &c[coff], ldc, betaEff, loadC
						if nrb < nr { // partial tile: compute into w.tile, then merge
							cp, cld, cbeta, cload = &w.tile[0], nr, 0, 0
						}
						if dkern != nil {
							dkern[mrb-1](kcb, &a[(ic+ir)*lda+pc], bp, cp, cld, alpha, cbeta, cload, lda)
						} else {
							kern[mrb-1](kcb, &w.packA[ir*kcb], bp, cp, cld, alpha, cbeta, cload)
						}
						if nrb == nr {
							continue
						}
						for i := 0; i < mrb; i++ {
							row := c[coff+i*ldc : coff+i*ldc+nrb]
							t := w.tile[i*nr : i*nr+nrb]
							if loadC == 0 {
								copy(row, t)
								continue
							}
							for j := range row {
								row[j] = t[j] + betaEff*row[j]
							}
						}
					}
				}
			}
		}
	}
}

// packAPanels packs rows ic..ic+mcb-1, columns pc..pc+kcb-1 of op(A) into
// dst as micro-panels of mr rows: panel r holds, for each p, the mr values
// op(A)[ic+r*mr+i][pc+p], zero-padded past row ic+mcb-1.
func packAPanels(dst []float32, transA bool, a []float32, lda, ic, mcb, pc, kcb int) {
	for ir := 0; ir < mcb; ir += mr {
		rows := min(mr, mcb-ir)
		panel := dst[ir*kcb : ir*kcb+mr*kcb]
		if !transA {
			if rows == mr {
				r0 := a[(ic+ir)*lda+pc:]
				r1 := a[(ic+ir+1)*lda+pc:]
				r2 := a[(ic+ir+2)*lda+pc:]
				r3 := a[(ic+ir+3)*lda+pc:]
				r0, r1, r2, r3 = r0[:kcb], r1[:kcb], r2[:kcb], r3[:kcb]
				for p := 0; p < kcb; p++ {
					q := panel[p*mr : p*mr+mr : p*mr+mr]
					q[0], q[1], q[2], q[3] = r0[p], r1[p], r2[p], r3[p]
				}
				continue
			}
			for p := 0; p < kcb; p++ {
				q := panel[p*mr : p*mr+mr]
				for i := 0; i < mr; i++ {
					if i < rows {
						q[i] = a[(ic+ir+i)*lda+pc+p]
					} else {
						q[i] = 0
					}
				}
			}
			continue
		}
		// op(A)[i][p] = a[p*lda+i]: rows of the stored matrix are contiguous
		// in i.
		for p := 0; p < kcb; p++ {
			src := a[(pc+p)*lda+ic+ir:]
			q := panel[p*mr : p*mr+mr]
			n := copy(q[:rows], src[:rows])
			clear(q[n:])
		}
	}
}

// packBPanels packs rows pc..pc+kcb-1, columns jc..jc+ncb-1 of op(B) into
// dst as panels of nr columns: panel q holds, for each p, the nr values
// op(B)[pc+p][jc+q*nr+j], zero-padded past column jc+ncb-1. Panel q starts
// at q*kcb*nr.
func packBPanels(dst []float32, transB bool, b []float32, ldb, pc, kcb, jc, ncb int) {
	for jr := 0; jr < ncb; jr += nr {
		cols := min(nr, ncb-jr)
		panel := dst[(jr/nr)*kcb*nr : (jr/nr+1)*kcb*nr]
		if !transB {
			for p := 0; p < kcb; p++ {
				src := b[(pc+p)*ldb+jc+jr:]
				q := panel[p*nr : p*nr+nr]
				n := copy(q[:cols], src[:cols])
				clear(q[n:])
			}
			continue
		}
		// op(B)[p][j] = b[j*ldb+p].
		for j := 0; j < nr; j++ {
			if j >= cols {
				for p := 0; p < kcb; p++ {
					panel[p*nr+j] = 0
				}
				continue
			}
			src := b[(jc+jr+j)*ldb+pc:]
			src = src[:kcb]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
	}
}

// microKernel computes an mr'×nr tile (mr' fixed per function); see
// asm_gen.go for the contract.
type microKernel func(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

// directKernel is a micro-kernel that reads A unpacked, row-major with
// leading dimension lda (in floats), instead of from a packed micro-panel.
type directKernel func(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int, lda int)

// directKernels returns the direct-A micro-kernels, or nil where there are
// none (the portable path always packs A).
func (w *Workspace) directKernels() *[mr]directKernel {
	if !w.PureGo && hasAsm {
		return &asmDirectKernels
	}
	return nil
}

// kernels returns the micro-kernels for 1..mr rows.
func (w *Workspace) kernels() *[mr]microKernel {
	if !w.PureGo && hasAsm {
		return &asmKernels
	}
	return &goKernels
}

var goKernels = [mr]microKernel{goKern1, goKern2, goKern3, goKern4}

func goKern1(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	goKern(1, k, a, b, c, ldc, alpha, beta, loadC)
}
func goKern2(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	goKern(2, k, a, b, c, ldc, alpha, beta, loadC)
}
func goKern3(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	goKern(3, k, a, b, c, ldc, alpha, beta, loadC)
}
func goKern4(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	goKern(4, k, a, b, c, ldc, alpha, beta, loadC)
}

// goKern is the portable micro-kernel: rows×nr tile, packed panels.
func goKern(rows, k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int) {
	as := unsafe.Slice(a, k*mr)
	bs := unsafe.Slice(b, k*nr)
	var acc [mr][nr]float32
	for p := 0; p < k; p++ {
		bp := (*[nr]float32)(bs[p*nr : p*nr+nr])
		ap := as[p*mr : p*mr+mr]
		for i := 0; i < rows; i++ {
			av := ap[i]
			row := &acc[i]
			for j := 0; j < nr; j += 4 {
				row[j] += av * bp[j]
				row[j+1] += av * bp[j+1]
				row[j+2] += av * bp[j+2]
				row[j+3] += av * bp[j+3]
			}
		}
	}
	cs := unsafe.Slice(c, (rows-1)*ldc+nr)
	for i := 0; i < rows; i++ {
		row := cs[i*ldc : i*ldc+nr]
		for j := range row {
			v := alpha * acc[i][j]
			if loadC != 0 {
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}

// Accelerated reports whether the assembly micro-kernels run on this
// machine (amd64 with AVX2 and FMA, without the purego build tag).
func Accelerated() bool { return hasAsm }
