package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

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
