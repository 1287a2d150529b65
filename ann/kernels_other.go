//go:build !amd64 || purego

package ann

func defaultKernels() kernelSet { return portableKernels() }
