//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run asm_gen.go

// hasAsm reports whether the AVX2/FMA micro-kernels can run on this CPU.
// It is set once at package initialisation and never changed.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

var asmKernels = [mr]microKernel{kern1x24, kern2x24, kern3x24, kern4x24}

var asmDirectKernels = [mr]directKernel{kern1x24d, kern2x24d, kern3x24d, kern4x24d}

//go:noescape
func kern1x24(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kern2x24(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kern3x24(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kern4x24(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)

//go:noescape
func kern1x24d(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int, lda int)

//go:noescape
func kern2x24d(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int, lda int)

//go:noescape
func kern3x24d(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int, lda int)

//go:noescape
func kern4x24d(k int, a, b, c *float32, ldc int, alpha, beta float32, loadC int, lda int)
