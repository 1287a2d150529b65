package rnn

import "math"

// vec runs element-wise loops with the AVX2 assembly when asm is set, and
// with the portable Go versions (same formulas, one lane at a time)
// otherwise. All slices passed to one call have the length of dst; dst may
// alias an input.
type vec struct{ asm bool }

func (v vec) sigmoid(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		sigmoidAVX(&dst[0], &x[0], len(dst))
		return
	}
	for i, a := range x {
		dst[i] = sigmoid32(a)
	}
}

func (v vec) tanh(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		tanhAVX(&dst[0], &x[0], len(dst))
		return
	}
	for i, a := range x {
		dst[i] = tanh32(a)
	}
}

// hardSigmoid computes min(max(x*slope+offset, 0), 1).
func (v vec) hardSigmoid(dst, x []float32, slope, offset float32) {
	x = x[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		hardSigmoidAVX(&dst[0], &x[0], len(dst), slope, offset)
		return
	}
	for i, a := range x {
		dst[i] = min(max(a*slope+offset, 0), 1)
	}
}

func (v vec) relu(dst, x []float32) {
	x = x[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		reluAVX(&dst[0], &x[0], len(dst))
		return
	}
	for i, a := range x {
		dst[i] = max(a, 0)
	}
}

// add computes dst = a + b.
func (v vec) add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		addAVX(&dst[0], &a[0], &b[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// mul computes dst = a * b.
func (v vec) mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		mulAVX(&dst[0], &a[0], &b[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// add3 computes dst = a + b + c.
func (v vec) add3(dst, a, b, c []float32) {
	a, b, c = a[:len(dst)], b[:len(dst)], c[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		add3AVX(&dst[0], &a[0], &b[0], &c[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = a[i] + b[i] + c[i]
	}
}

// gruCand computes dst = x + bx + r*(h+bh), the reset_after candidate
// pre-activation.
func (v vec) gruCand(dst, x, bx, r, h, bh []float32) {
	x, bx, r, h, bh = x[:len(dst)], bx[:len(dst)], r[:len(dst)], h[:len(dst)], bh[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		gruCandAVX(&dst[0], &x[0], &bx[0], &r[0], &h[0], &bh[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = x[i] + bx[i] + r[i]*(h[i]+bh[i])
	}
}

// gruMix computes dst = z*h + (1-z)*c, in Keras's form (the shorter
// c + z*(h-c) cancels catastrophically when |c| >> |h|).
func (v vec) gruMix(dst, z, c, h []float32) {
	z, c, h = z[:len(dst)], c[:len(dst)], h[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		gruMixAVX(&dst[0], &z[0], &c[0], &h[0], len(dst))
		return
	}
	for i := range dst {
		dst[i] = z[i]*h[i] + (1-z[i])*c[i]
	}
}

// lstmCell computes dst = f*c + i*g.
func (v vec) lstmCell(dst, c, i, f, g []float32) {
	c, i, f, g = c[:len(dst)], i[:len(dst)], f[:len(dst)], g[:len(dst)]
	if len(dst) == 0 {
		return
	}
	if v.asm {
		lstmCellAVX(&dst[0], &c[0], &i[0], &f[0], &g[0], len(dst))
		return
	}
	for k := range dst {
		dst[k] = f[k]*c[k] + i[k]*g[k]
	}
}

// lstmStep is a whole LSTM gate update for one batch row with tanh and
// sigmoid activations: with z = pre + xw + bx (gate blocks i, f, g, o of
// len(h) values each), c = σ(z_f)⊙c + σ(z_i)⊙tanh(z_g) and
// h = σ(z_o)⊙tanh(c). The assembly does it in one pass, equal bit for bit to
// add3, sigmoid, tanh, lstmCell, tanh and mul run one after the other, which
// is what the portable code does (leaving z in pre). pre is clobbered.
func (v vec) lstmStep(h, c, pre, xw, bx []float32) {
	u := len(h)
	c, pre, xw, bx = c[:u], pre[:4*u], xw[:4*u], bx[:4*u]
	if u == 0 {
		return
	}
	if v.asm {
		lstmStepAVX(&h[0], &c[0], &pre[0], &xw[0], &bx[0], u)
		return
	}
	v.add3(pre, pre, xw, bx)
	v.sigmoid(pre[:2*u], pre[:2*u]) // i, f
	v.tanh(pre[2*u:3*u], pre[2*u:3*u])
	v.sigmoid(pre[3*u:], pre[3*u:]) // o
	v.lstmCell(c, c, pre[:u], pre[u:2*u], pre[2*u:3*u])
	v.tanh(pre[:u], c) // i is no longer needed
	v.mul(h, pre[3*u:], pre[:u])
}

// Scalar float32 versions of the assembly formulas (Cephes expf and tanhf).

func exp32(x float32) float32 {
	x = min(max(x, -87), 88)
	n := float32(math.RoundToEven(float64(x * math.Log2E)))
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

func sigmoid32(x float32) float32 { return 1 / (1 + exp32(-x)) }

func tanh32(x float32) float32 {
	ax := float32(math.Abs(float64(x)))
	if ax < 0.625 {
		z := x * x
		p := float32(-5.70498872745e-3)
		p = p*z + 2.06390887954e-2
		p = p*z - 5.37397155531e-2
		p = p*z + 1.33314422036e-1
		p = p*z - 3.33332819422e-1
		return p*z*x + x
	}
	t := 1 - 2/(exp32(min(2*ax, 18))+1)
	if x < 0 {
		return -t
	}
	return t
}

// SigmoidSlice writes 1/(1+exp(-x)) of each element of x into dst
// (len(dst) elements; dst may alias x), with the AVX2 code when the CPU has
// it; accurate to about 2e-7 relative. The elementwise Sigmoid kernel uses
// it.
func SigmoidSlice(dst, x []float32) { vec{asm: hasAsm}.sigmoid(dst, x) }

// TanhSlice is SigmoidSlice's twin for tanh.
func TanhSlice(dst, x []float32) { vec{asm: hasAsm}.tanh(dst, x) }

// ReluSlice writes max(x, 0) of each element of x into dst.
func ReluSlice(dst, x []float32) { vec{asm: hasAsm}.relu(dst, x) }

// AddSlice writes a+b elementwise into dst (all of len(dst)).
func AddSlice(dst, a, b []float32) { vec{asm: hasAsm}.add(dst, a, b) }

// MulSlice writes a*b elementwise into dst (all of len(dst)).
func MulSlice(dst, a, b []float32) { vec{asm: hasAsm}.mul(dst, a, b) }
