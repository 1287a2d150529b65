//go:build !amd64 || purego

package bf16

// hasAsm is false: there is no assembly kernel for this build.
const hasAsm = false

var asmKernels [maxRows][]dotKernel

func cvtPairs(dst *uint32, src *float32, n int) { panic("bf16: no assembly kernels in this build") }
