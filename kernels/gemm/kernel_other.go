//go:build !amd64 || purego

package gemm

// hasAsm is false: there is no assembly micro-kernel for this build.
const hasAsm = false

var asmKernels = goKernels

var asmDirectKernels [mr]directKernel
