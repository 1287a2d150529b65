package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tfserve/tfserve/tensor"
)

func refMatMul(a []float64, m, k int, b []float64, n int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				c[i*n+j] += a[i*k+p] * b[p*n+j]
			}
		}
	}
	return c
}

func transpose2(x []float64, r, c int) []float64 {
	out := make([]float64, len(x))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

func TestMatMulAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	for iter := 0; iter < 60; iter++ {
		m, k, n := 1+r.IntN(9), 1+r.IntN(40), 1+r.IntN(30)
		ta, tb := r.IntN(2) == 0, r.IntN(2) == 0
		a := randF32(r, sh(m, k))
		b := randF32(r, sh(k, n))
		want := refMatMul(asF64(a), m, k, asF64(b), n)
		aIn, bIn := a, b
		if ta {
			aIn = f32(sh(k, m), toF32(transpose2(asF64(a), m, k))...)
		}
		if tb {
			bIn = f32(sh(n, k), toF32(transpose2(asF64(b), k, n))...)
		}
		attrs := Attrs{"transpose_a": ta, "transpose_b": tb}
		got := mustRun(t, "MatMul", attrs, aIn, bIn)[0]
		wantClose(t, got, f32(sh(m, n), toF32(want)...), 1e-5)
		got64 := mustRun(t, "MatMul", attrs, f64(aIn.Shape, asF64(aIn)...), f64(bIn.Shape, asF64(bIn)...))[0]
		wantClose(t, got64, f64(sh(m, n), want...), 1e-12)
	}
	wantTensor(t, mustRun(t, "MatMul", nil, i32(sh(1, 2), 1, 2), i32(sh(2, 1), 3, 4))[0], i32(sh(1, 1), 11))
	mustFail(t, "MatMul", nil, "Matrix size-incompatible: In[0]: [2,3], In[1]: [2,3]", iota32(sh(2, 3)), iota32(sh(2, 3)))
}

func toF32(v []float64) []float32 {
	o := make([]float32, len(v))
	for i, x := range v {
		o[i] = float32(x)
	}
	return o
}

func TestBatchMatMulBroadcast(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	a := randF32(r, sh(2, 1, 3, 4))
	b := randF32(r, sh(3, 4, 5))
	got := mustRun(t, "BatchMatMulV2", nil, a, b)[0]
	if !got.Shape.Equal(sh(2, 3, 3, 5)) {
		t.Fatalf("shape %v", got.Shape)
	}
	ad, bd := asF64(a), asF64(b)
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			want := refMatMul(ad[i*12:(i+1)*12], 3, 4, bd[j*20:(j+1)*20], 5)
			g := got.F32()[(i*3+j)*15 : (i*3+j+1)*15]
			for q := range want {
				if math.Abs(float64(g[q])-want[q]) > 1e-5 {
					t.Fatalf("batch %d,%d: got %v want %v", i, j, g, want)
				}
			}
		}
	}
	// adj_y on BatchMatMul (no broadcasting).
	x := f32(sh(1, 2, 2), 1, 2, 3, 4)
	y := f32(sh(1, 2, 2), 5, 6, 7, 8)
	wantTensor(t, mustRun(t, "BatchMatMul", Attrs{"adj_y": true}, x, y)[0], f32(sh(1, 2, 2), 17, 23, 39, 53))
	mustFail(t, "BatchMatMul", nil, "compatible batch dimensions", iota32(sh(2, 2, 2)), iota32(sh(1, 2, 2)))
}

func TestEinsum(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	a := randF32(r, sh(2, 3))
	b := randF32(r, sh(3, 4))
	want := refMatMul(asF64(a), 2, 3, asF64(b), 4)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,jk->ik"}, a, b)[0], f32(sh(2, 4), toF32(want)...), 1e-5)
	// Transposed output: ki
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,jk->ki"}, a, b)[0], f32(sh(4, 2), toF32(transpose2(want, 2, 4))...), 1e-5)
	// Batched with labels in odd order: bij,bkj->bik (b x adj_y)
	x := randF32(r, sh(2, 3, 4))
	y := randF32(r, sh(2, 5, 4))
	got := mustRun(t, "Einsum", Attrs{"equation": "bij,bkj->bik"}, x, y)[0]
	xd, yd := asF64(x), asF64(y)
	for bb := 0; bb < 2; bb++ {
		w := refMatMul(xd[bb*12:(bb+1)*12], 3, 4, transpose2(yd[bb*20:(bb+1)*20], 5, 4), 5)
		for q := range w {
			if math.Abs(float64(got.F32()[bb*15+q])-w[q]) > 1e-5 {
				t.Fatalf("bij,bkj->bik mismatch")
			}
		}
	}
	// Dot product per row, and a one-operand sum/transpose.
	v := f32(sh(2, 2), 1, 2, 3, 4)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij,ij->i"}, v, v)[0], f32(sh(2), 5, 25), 0)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij->j"}, v)[0], f32(sh(2), 4, 6), 0)
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "ij->ji"}, v)[0], f32(sh(2, 2), 1, 3, 2, 4), 0)
	// Outer product.
	wantClose(t, mustRun(t, "Einsum", Attrs{"equation": "i,j->ij"}, f32(sh(2), 1, 2), f32(sh(3), 1, 10, 100))[0],
		f32(sh(2, 3), 1, 10, 100, 2, 20, 200), 0)
	if _, err := runOp(t, "Einsum", Attrs{"equation": "...ij,...jk->...ik"}, a, b); err == nil {
		t.Fatal("ellipsis should be rejected at build time")
	}
	if _, err := runOp(t, "Einsum", Attrs{"equation": "ii->i"}, a); err == nil {
		t.Fatal("diagonal should be rejected")
	}
}

// refConv is a direct NHWC convolution with explicit padding.
func refConv(x []float64, n, h, w, c int, f []float64, kh, kw, co, sh, sw, dh, dw, pt, pl, oh, ow int, depthwise bool) []float64 {
	mult := co
	if depthwise {
		co = c * mult
	}
	out := make([]float64, n*oh*ow*co)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for oc := 0; oc < co; oc++ {
					s := 0.0
					for ky := 0; ky < kh; ky++ {
						for kx := 0; kx < kw; kx++ {
							iy, ix := oy*sh-pt+ky*dh, ox*sw-pl+kx*dw
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							if depthwise {
								ic, m := oc/mult, oc%mult
								s += x[((b*h+iy)*w+ix)*c+ic] * f[((ky*kw+kx)*c+ic)*mult+m]
								continue
							}
							for ic := 0; ic < c; ic++ {
								s += x[((b*h+iy)*w+ix)*c+ic] * f[((ky*kw+kx)*c+ic)*co+oc]
							}
						}
					}
					out[((b*oh+oy)*ow+ox)*co+oc] = s
				}
			}
		}
	}
	return out
}

// refWindow computes TF's output size and leading pad for SAME/VALID.
func refWindow(in, k, s, d int, same bool) (int, int) {
	ek := (k-1)*d + 1
	if !same {
		return int(math.Ceil(float64(in-ek+1) / float64(s))), 0
	}
	out := int(math.Ceil(float64(in) / float64(s)))
	pad := max(0, (out-1)*s+ek-in)
	return out, pad / 2
}

func TestConv2DAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 7))
	for iter := 0; iter < 80; iter++ {
		n, h, w, c := 1+r.IntN(2), 3+r.IntN(6), 3+r.IntN(6), 1+r.IntN(3)
		kh, kw, co := 1+r.IntN(3), 1+r.IntN(3), 1+r.IntN(3)
		sh1, sw1 := 1+r.IntN(2), 1+r.IntN(2)
		dh, dw := 1, 1
		if sh1 == 1 && sw1 == 1 && r.IntN(2) == 0 {
			dh, dw = 1+r.IntN(2), 1+r.IntN(2)
		}
		same := r.IntN(2) == 0
		oh, pt := refWindow(h, kh, sh1, dh, same)
		ow, pl := refWindow(w, kw, sw1, dw, same)
		if oh <= 0 || ow <= 0 {
			continue
		}
		x := randF32(r, sh(n, h, w, c))
		depthwise := r.IntN(3) == 0
		f := randF32(r, sh(kh, kw, c, co))
		want := refConv(asF64(x), n, h, w, c, asF64(f), kh, kw, co, sh1, sw1, dh, dw, pt, pl, oh, ow, depthwise)
		pad := "VALID"
		if same {
			pad = "SAME"
		}
		attrs := Attrs{"strides": []int64{1, int64(sh1), int64(sw1), 1}, "dilations": []int64{1, int64(dh), int64(dw), 1}, "padding": pad}
		op, oc := "Conv2D", co
		if depthwise {
			op, oc = "DepthwiseConv2dNative", c*co
		}
		got := mustRun(t, op, attrs, x, f)[0]
		wantClose(t, got, f32(sh(n, oh, ow, oc), toF32(want)...), 1e-5)
	}
	// EXPLICIT padding and NCHW on a hand-sized case: 1x1 image padded by 1 with a 3x3 ones filter.
	x := f32(sh(1, 1, 1, 1), 2)
	f := f32(sh(3, 3, 1, 1), 1, 1, 1, 1, 1, 1, 1, 1, 1)
	attrs := Attrs{"strides": []int64{1, 1, 1, 1}, "padding": "EXPLICIT", "explicit_paddings": []int64{0, 0, 1, 1, 1, 1, 0, 0}}
	wantTensor(t, mustRun(t, "Conv2D", attrs, x, f)[0], f32(sh(1, 1, 1, 1), 2))
	xn := iota32(sh(1, 2, 2, 2)) // NCHW: 2 channels of 2x2
	fn := f32(sh(1, 1, 2, 1), 1, 10)
	got := mustRun(t, "Conv2D", Attrs{"strides": []int64{1, 1, 1, 1}, "padding": "VALID", "data_format": "NCHW"}, xn, fn)[0]
	wantTensor(t, got, f32(sh(1, 1, 2, 2), 40, 51, 62, 73))
	if _, err := runOp(t, "Conv2D", Attrs{"strides": []int64{2, 1, 1, 1}, "padding": "SAME"}, x, f); err == nil {
		t.Fatal("batch stride must be rejected")
	}
	mustFail(t, "Conv2D", Attrs{"strides": []int64{1, 1, 1, 1}, "padding": "VALID"}, "filter depth", iota32(sh(1, 2, 2, 3)), iota32(sh(1, 1, 2, 1)))
}

func TestPoolingAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for iter := 0; iter < 60; iter++ {
		n, h, w, c := 1+r.IntN(2), 2+r.IntN(6), 2+r.IntN(6), 1+r.IntN(3)
		kh, kw := 1+r.IntN(3), 1+r.IntN(3)
		s1, s2 := 1+r.IntN(3), 1+r.IntN(3)
		same := r.IntN(2) == 0
		oh, pt := refWindow(h, kh, s1, 1, same)
		ow, pl := refWindow(w, kw, s2, 1, same)
		if oh <= 0 || ow <= 0 {
			continue
		}
		x := randF32(r, sh(n, h, w, c))
		xd := asF64(x)
		maxW := make([]float64, n*oh*ow*c)
		avgW := make([]float64, n*oh*ow*c)
		for b := 0; b < n; b++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					for ch := 0; ch < c; ch++ {
						mx, sum, cnt := math.Inf(-1), 0.0, 0
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy, ix := oy*s1-pt+ky, ox*s2-pl+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								v := xd[((b*h+iy)*w+ix)*c+ch]
								mx = math.Max(mx, v)
								sum += v
								cnt++
							}
						}
						o := ((b*oh+oy)*ow+ox)*c + ch
						maxW[o], avgW[o] = mx, sum/float64(cnt)
					}
				}
			}
		}
		pad := "VALID"
		if same {
			pad = "SAME"
		}
		attrs := Attrs{"ksize": []int64{1, int64(kh), int64(kw), 1}, "strides": []int64{1, int64(s1), int64(s2), 1}, "padding": pad}
		wantClose(t, mustRun(t, "MaxPool", attrs, x)[0], f32(sh(n, oh, ow, c), toF32(maxW)...), 1e-6)
		wantClose(t, mustRun(t, "AvgPool", attrs, x)[0], f32(sh(n, oh, ow, c), toF32(avgW)...), 1e-5)
	}
}

func TestBiasAddSoftmax(t *testing.T) {
	x := iota32(sh(2, 3))
	wantTensor(t, mustRun(t, "BiasAdd", nil, x, f32(sh(3), 10, 20, 30))[0], f32(sh(2, 3), 10, 21, 32, 13, 24, 35))
	y := iota32(sh(1, 2, 2))
	wantTensor(t, mustRun(t, "BiasAdd", Attrs{"data_format": "NCHW"}, y, f32(sh(2), 10, 20))[0], f32(sh(1, 2, 2), 10, 11, 22, 23))
	mustFail(t, "BiasAdd", nil, "Must provide as many biases", x, f32(sh(2), 1, 2))
	s := mustRun(t, "Softmax", nil, f64(sh(2, 3), 1, 2, 3, 1000, 1000, 1000))[0]
	e := []float64{math.Exp(1), math.Exp(2), math.Exp(3)}
	z := e[0] + e[1] + e[2]
	wantClose(t, s, f64(sh(2, 3), e[0]/z, e[1]/z, e[2]/z, 1.0/3, 1.0/3, 1.0/3), 1e-12)
	ls := mustRun(t, "LogSoftmax", nil, f64(sh(3), 1, 2, 3))[0]
	wantClose(t, ls, f64(sh(3), 1-math.Log(z), 2-math.Log(z), 3-math.Log(z)), 1e-12)
}

func BenchmarkMatMulF32_256(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randF32(r, sh(256, 256)), randF32(r, sh(256, 256))
	bl, _ := Lookup("MatMul")
	f, _ := bl(nil, 2)
	for i := 0; i < b.N; i++ {
		if _, err := f(&Context{}, []*tensor.Tensor{x, y}); err != nil {
			b.Fatal(err)
		}
	}
}
