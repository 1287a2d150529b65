package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

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
