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
