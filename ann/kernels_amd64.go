//go:build amd64 && !purego

package ann

import "golang.org/x/sys/cpu"

// kernelSet picks the SIMD kernels once per Index (no package-level mutable
// state): AVX2 (+FMA for float math) when the CPU has it, else pure Go.
func defaultKernels() kernelSet {
	k := portableKernels()
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		k.name = "avx2"
		k.dot = dotFMA
		k.dot4 = dot4FMA
		k.lut16 = lut16AVX2
		k.lutFloat = lutFloatFMA
		k.lutQuant = lutQuantAVX2
		k.dotInt8 = dotInt8FMA
		k.prefetch = prefetchBytes
		if cpu.X86.HasF16C {
			k.dotF16 = dotF16FMA
		}
	}
	return k
}

//go:noescape
func dotFMAAsm(a, b *float32, n int) float32

//go:noescape
func dot4FMAAsm(x, rows *float32, stride, n int, out *[4]float32)

//go:noescape
func lut16AVX2Asm(codes *byte, stride int, lut *byte, npairs int, out *uint32, ngroups int)

func dotFMA(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	n8 := len(a) &^ 7
	var s float32
	if n8 > 0 {
		s = dotFMAAsm(&a[0], &b[0], n8)
	}
	for i := n8; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func dot4FMA(x, rows []float32, stride int, out *[4]float32) {
	n := len(x)
	if n == 0 {
		*out = [4]float32{}
		return
	}
	_ = rows[3*stride+n-1]
	n8 := n &^ 7
	if n8 > 0 {
		dot4FMAAsm(&x[0], &rows[0], stride, n8, out)
	} else {
		*out = [4]float32{}
	}
	for i := n8; i < n; i++ {
		xi := x[i]
		out[0] += xi * rows[i]
		out[1] += xi * rows[stride+i]
		out[2] += xi * rows[2*stride+i]
		out[3] += xi * rows[3*stride+i]
	}
}

func lut16AVX2(codes []byte, stride int, lut []byte, npairs int, out []uint32, ngroups int) {
	if ngroups == 0 || npairs == 0 {
		return
	}
	// Bounds checks so that the assembly never reads or writes out of range.
	_ = codes[(ngroups-1)*stride+npairs*32-1]
	_ = lut[npairs*32-1]
	_ = out[ngroups*32-1]
	lut16AVX2Asm(&codes[0], stride, &lut[0], npairs, &out[0], ngroups)
}

//go:noescape
func lutFloatAsm(q, cbT *float32, nb, dpb int, f, lo, hi *float32)

//go:noescape
func lutQuantAsm(f, lo *float32, nb int, inv float32, out *byte)

//go:noescape
func dotInt8Asm(q *float32, v *int8, n int) float32

func lutFloatFMA(q, cbT []float32, nb, dpb int, f, lo, hi []float32) {
	if nb == 0 {
		return
	}
	_ = q[nb*dpb-1]
	_ = cbT[nb*dpb*16-1]
	_ = f[nb*16-1]
	_ = lo[nb-1]
	_ = hi[nb-1]
	lutFloatAsm(&q[0], &cbT[0], nb, dpb, &f[0], &lo[0], &hi[0])
}

func lutQuantAVX2(f, lo []float32, nb int, inv float32, out []byte) {
	if nb == 0 {
		return
	}
	_ = f[nb*16-1]
	_ = lo[nb-1]
	_ = out[nb*16-1]
	lutQuantAsm(&f[0], &lo[0], nb, inv, &out[0])
}

func dotInt8FMA(q []float32, v []int8) float32 {
	v = v[:len(q)]
	n16 := len(q) &^ 15
	var s float32
	if n16 > 0 {
		s = dotInt8Asm(&q[0], &v[0], n16)
	}
	for i := n16; i < len(q); i++ {
		s += q[i] * float32(v[i])
	}
	return s
}

//go:noescape
func prefetchAsm(p *byte, n int)

func prefetchBytes(b []byte) {
	if len(b) > 0 {
		prefetchAsm(&b[0], len(b))
	}
}

//go:noescape
func dotF16Asm(q *float32, v *uint16, n int) float32

func dotF16FMA(q []float32, v []uint16) float32 {
	v = v[:len(q)]
	n8 := len(q) &^ 7
	var s float32
	if n8 > 0 {
		s = dotF16Asm(&q[0], &v[0], n8)
	}
	for i := n8; i < len(q); i++ {
		s += q[i] * f16ToF32(v[i])
	}
	return s
}
