package ann

// kernelSet holds the inner loops an Index uses. Tests compare the SIMD set
// against portableKernels.
type kernelSet struct {
	name string
	dot  func(a, b []float32) float32
	dot4 func(x, rows []float32, stride int, out *[4]float32)
	// lut16 adds, for ngroups groups of 32 datapoints, the LUT16 sums of
	// npairs block pairs to out[32*g : 32*g+32]. Group g's codes start at
	// codes[g*stride]. npairs must be <= maxPairsPerCall.
	lut16 func(codes []byte, stride int, lut []byte, npairs int, out []uint32, ngroups int)
}

func portableKernels() kernelSet {
	return kernelSet{name: "go", dot: dotGo, dot4: dot4Go, lut16: lut16Go}
}
