package rnn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// vecModes are the element-wise implementations available on this machine.
func vecModes() []vec {
	if hasAsm {
		return []vec{{asm: true}, {asm: false}}
	}
	return []vec{{asm: false}}
}

// testInputs covers the interesting ranges: tiny, around the tanh switch
// point, saturation, clamping limits, plus random values.
func testInputs() []float32 {
	xs := []float32{0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 1e-3, 0.1, -0.3, 0.6249, 0.625, 0.6251, -0.625,
		1, -1, 2.5, -2.5, 5, -8.9, 9, 9.5, 15, -20, 40, -60, 87, -87, 88, -88, 89, -90, 100, -1000}
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 4000; i++ {
		xs = append(xs, float32(r.NormFloat64()*4))
	}
	for i := 0; i < 1000; i++ {
		xs = append(xs, float32((r.Float64()-0.5)*200))
	}
	return xs
}

// relErr is |got-want| / max(|want|, floor).
func relErr(got float32, want, floor float64) float64 {
	return math.Abs(float64(got)-want) / math.Max(math.Abs(want), floor)
}

func TestFastActivationsAccuracy(t *testing.T) {
	xs := testInputs()
	for _, v := range vecModes() {
		var worstSig, worstTanh float64
		for _, n := range []int{len(xs), 1, 7, 8, 9, 15, 17} { // exercise masked tails
			in := xs[:n]
			got := make([]float32, n+1)
			sentinel := float32(12345)
			got[n] = sentinel
			v.sigmoid(got[:n], in)
			for i, x := range in {
				want := 1 / (1 + math.Exp(-float64(x)))
				e := relErr(got[i], want, 1e-30)
				if want > 1e-30 {
					worstSig = max(worstSig, e)
				}
				if e > 1e-6 && math.Abs(float64(got[i])-want) > 1e-37 {
					t.Fatalf("asm=%v sigmoid(%g) = %g, want %g (rel %g)", v.asm, x, got[i], want, e)
				}
			}
			v.tanh(got[:n], in)
			for i, x := range in {
				want := math.Tanh(float64(x))
				e := relErr(got[i], want, 1e-38)
				worstTanh = max(worstTanh, e)
				if e > 1e-6 {
					t.Fatalf("asm=%v tanh(%g) = %g, want %g (rel %g)", v.asm, x, got[i], want, e)
				}
			}
			if got[n] != sentinel {
				t.Fatalf("asm=%v n=%d: wrote past the end", v.asm, n)
			}
		}
		t.Logf("asm=%v: max relative error sigmoid %.2g (where sigmoid > 1e-30), tanh %.2g", v.asm, worstSig, worstTanh)
	}
}

func TestVecOpsMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, v := range vecModes() {
		for _, n := range []int{1, 3, 8, 13, 64, 100} {
			a, b, c, d, e := randVec(r, n), randVec(r, n), randVec(r, n), randVec(r, n), randVec(r, n)
			type op struct {
				name string
				run  func(dst []float32)
				want func(i int) float64
			}
			ops := []op{
				{"add", func(dst []float32) { v.add(dst, a, b) }, func(i int) float64 { return float64(a[i]) + float64(b[i]) }},
				{"mul", func(dst []float32) { v.mul(dst, a, b) }, func(i int) float64 { return float64(a[i]) * float64(b[i]) }},
				{"relu", func(dst []float32) { v.relu(dst, a) }, func(i int) float64 { return math.Max(float64(a[i]), 0) }},
				{"hardSigmoid", func(dst []float32) { v.hardSigmoid(dst, a, 0.2, 0.5) }, func(i int) float64 { return HardSigmoid.scalar(float64(a[i])) }},
				{"add3", func(dst []float32) { v.add3(dst, a, b, c) }, func(i int) float64 {
					return float64(a[i]) + float64(b[i]) + float64(c[i])
				}},
				{"gruCand", func(dst []float32) { v.gruCand(dst, a, e, b, c, d) }, func(i int) float64 {
					return float64(a[i]) + float64(e[i]) + float64(b[i])*(float64(c[i])+float64(d[i]))
				}},
				{"gruMix", func(dst []float32) { v.gruMix(dst, a, b, c) }, func(i int) float64 {
					return float64(a[i])*float64(c[i]) + (1-float64(a[i]))*float64(b[i])
				}},
				{"lstmCell", func(dst []float32) { v.lstmCell(dst, a, b, c, d) }, func(i int) float64 {
					return float64(c[i])*float64(a[i]) + float64(b[i])*float64(d[i])
				}},
			}
			for _, o := range ops {
				t.Run(fmt.Sprintf("asm%v/%s/%d", v.asm, o.name, n), func(t *testing.T) {
					dst := make([]float32, n+1)
					dst[n] = 99
					o.run(dst[:n])
					for i := 0; i < n; i++ {
						if d := math.Abs(float64(dst[i]) - o.want(i)); d > 1e-5 {
							t.Fatalf("element %d: got %g want %g", i, dst[i], o.want(i))
						}
					}
					if dst[n] != 99 {
						t.Fatal("wrote past the end")
					}
				})
			}
		}
	}
}

func randVec(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestLSTMStep: the one-pass LSTM gate update equals the separate loops bit
// for bit (asm), is within float32 rounding of the float64 formulas, leaves
// everything outside h[:u] and c[:u] alone, and (asm) does not write pre.
func TestLSTMStep(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	xs := testInputs()
	for _, v := range vecModes() {
		for _, u := range []int{1, 3, 7, 8, 9, 13, 64, 100, 257} {
			pre, xw, bx := make([]float32, 4*u), make([]float32, 4*u), make([]float32, 4*u)
			for i := range pre {
				// Pre-activations from the special inputs, split over the
				// three addends so that their sum hits them.
				z := xs[r.IntN(len(xs))]
				pre[i], xw[i], bx[i] = z, 0, 0
				if r.IntN(2) == 0 {
					pre[i], xw[i], bx[i] = z/2, z/4, z/4
				}
			}
			c0 := randVec(r, u)
			for i := range c0 {
				c0[i] *= 3
			}
			h, c := make([]float32, u+1), append(append([]float32(nil), c0...), 77)
			h[u] = 99
			preIn := append([]float32(nil), pre...)
			v.lstmStep(h[:u], c[:u], pre, xw, bx)
			if h[u] != 99 || c[u] != 77 {
				t.Fatalf("asm=%v u=%d: wrote past the end", v.asm, u)
			}
			// The separate loops, as lstm.go ran them before the fused one.
			row, wantH, wantC := append([]float32(nil), preIn...), make([]float32, u), append([]float32(nil), c0...)
			tmp := make([]float32, u)
			v.add3(row, row, xw, bx)
			v.sigmoid(row[:2*u], row[:2*u])
			v.tanh(row[2*u:3*u], row[2*u:3*u])
			v.sigmoid(row[3*u:], row[3*u:])
			v.lstmCell(wantC, wantC, row[:u], row[u:2*u], row[2*u:3*u])
			v.tanh(tmp, wantC)
			v.mul(wantH, row[3*u:], tmp)
			for j := 0; j < u; j++ {
				if math.Float32bits(h[j]) != math.Float32bits(wantH[j]) || math.Float32bits(c[j]) != math.Float32bits(wantC[j]) {
					t.Fatalf("asm=%v u=%d lane %d: h %v c %v, separate loops h %v c %v", v.asm, u, j, h[j], c[j], wantH[j], wantC[j])
				}
				z := func(k int) float64 { return float64(preIn[k*u+j]) + float64(xw[k*u+j]) + float64(bx[k*u+j]) }
				sg := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
				cc := sg(z(1))*float64(c0[j]) + sg(z(0))*math.Tanh(z(2))
				hh := sg(z(3)) * math.Tanh(cc)
				if math.Abs(float64(c[j])-cc) > 1e-6*(1+math.Abs(cc)) || math.Abs(float64(h[j])-hh) > 2e-6 {
					t.Fatalf("asm=%v u=%d lane %d: h %v c %v, float64 h %v c %v", v.asm, u, j, h[j], c[j], hh, cc)
				}
			}
			if v.asm {
				for i := range pre {
					if math.Float32bits(pre[i]) != math.Float32bits(preIn[i]) {
						t.Fatalf("u=%d: pre[%d] changed", u, i)
					}
				}
			}
		}
	}
}
