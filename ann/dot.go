package ann

// dotGo is the portable float32 dot product.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot4Go computes out[j] = x · rows[j] for the four rows starting at rows[0],
// rows[stride], rows[2*stride], rows[3*stride], each len(x) long.
func dot4Go(x, rows []float32, stride int, out *[4]float32) {
	n := len(x)
	for j := 0; j < 4; j++ {
		out[j] = dotGo(x, rows[j*stride:j*stride+n])
	}
}

// dotInt8Go computes Σ q[d]·float32(v[d]).
func dotInt8Go(q []float32, v []int8) float32 {
	v = v[:len(q)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += q[i] * float32(v[i])
		s1 += q[i+1] * float32(v[i+1])
		s2 += q[i+2] * float32(v[i+2])
		s3 += q[i+3] * float32(v[i+3])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float32(v[i])
	}
	return (s0 + s1) + (s2 + s3)
}
