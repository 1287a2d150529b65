package bf16

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refRound rounds a finite, normal float32 to 8 significant bits by
// comparing the two bf16 neighbours in float64 (ties to the even one), an
// independent statement of what FromFloat32 computes.
func refRound(f float32) float32 {
	b := math.Float32bits(f)
	lo := math.Float32frombits(b &^ 0xffff)
	hi := math.Float32frombits((b &^ 0xffff) + 0x10000) // next bf16 away from zero (may be Inf)
	hi64 := float64(hi)
	if math.IsInf(hi64, 0) {
		hi64 = math.Copysign(0x1p128, hi64) // where the exponent range would continue
	}
	dl := math.Abs(float64(f) - float64(lo))
	dh := math.Abs(hi64 - float64(f))
	switch {
	case dl < dh:
		return lo
	case dh < dl:
		return hi
	case (b>>16)&1 == 0:
		return lo
	}
	return hi
}

func TestFromFloat32(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0xbf800000, 0xbf80}, // -1
		{0x3f808000, 0x3f80}, // tie, even below
		{0x3f818000, 0x3f82}, // tie, odd below: up
		{0x3f808001, 0x3f81}, // just above the tie
		{0x3f807fff, 0x3f80}, // just below the tie
		{0x00000001, 0x0000}, // denormal → +0
		{0x807fffff, 0x8000}, // denormal → -0
		{0x00800000, 0x0080}, // smallest normal
		{0x7f7fffff, 0x7f80}, // max float rounds to +Inf
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN → quiet
		{0xffc12345, 0xffc1}, // quiet NaN keeps its top bits
		{math.Float32bits(3.14159), 0x4049},
	}
	for _, c := range cases {
		if got := FromFloat32(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("FromFloat32(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(r.Uint32())
		e := math.Float32bits(f) & 0x7f800000
		if e == 0 || e == 0x7f800000 {
			continue
		}
		if got, want := Round(f), refRound(f); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("Round(%g) = %g, want %g", f, got, want)
		}
	}
}

// TestConvertAsm: the VCVTNE2PS2BF16 loop and FromFloat32 agree on every
// kind of bit pattern (normals, denormals, NaNs, infinities), odd lengths
// included.
func TestConvertAsm(t *testing.T) {
	if !hasAsm {
		t.Skip("no AVX-512 BF16 on this machine")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 31, 32, 33, 64, 95, 1000} {
		src := make([]float32, n)
		for i := range src {
			switch i % 7 {
			case 5:
				src[i] = math.Float32frombits(r.Uint32() & 0x807fffff) // denormal or zero
			case 6:
				src[i] = math.Float32frombits(r.Uint32() | 0x7f800000) // NaN or Inf
			default:
				src[i] = math.Float32frombits(r.Uint32())
			}
		}
		asm := make([]uint32, (n+1)/2)
		goc := make([]uint32, (n+1)/2)
		convertRow(asm, src, true)
		convertRow(goc, src, false)
		for p := range asm {
			if asm[p] != goc[p] {
				t.Fatalf("n=%d pair %d: asm %#08x, Go %#08x (inputs %#08x %#08x)", n, p, asm[p], goc[p],
					math.Float32bits(src[2*p]), math.Float32bits(src[min(2*p+1, n-1)]))
			}
		}
	}
}

type shape struct {
	m, n, k int
	trans   bool
	pad     int
	acc     bool
}

func shapes() []shape {
	dims := [][3]int{
		{1, 1, 1}, {1, 16, 2}, {1, 17, 3}, {1, 384, 128}, {1, 400, 129}, {1, 15, 1}, {2, 33, 5},
		{3, 100, 64}, {4, 48, 7}, {5, 96, 31}, {7, 191, 65}, {8, 384, 128}, {9, 1, 9},
		{13, 200, 33}, {64, 96, 64}, {3, 20, 1500}, {2, 200, 2049}, {1, 12 * 16, 8}, {1, 13 * 16, 8},
		{2, 161, 4}, {4, 97, 10}, {6, 1000, 3},
	}
	var out []shape
	for i, d := range dims {
		out = append(out, shape{m: d[0], n: d[1], k: d[2], trans: i%3 == 1, pad: i % 4, acc: i%2 == 1})
	}
	return out
}

func (s shape) String() string {
	return fmt.Sprintf("m%d_n%d_k%d_t%v_pad%d_acc%v", s.m, s.n, s.k, s.trans, s.pad, s.acc)
}

// operands: B (k×n, or n×k stored when trans), A (m×k), C (m×n) with
// leading dimensions padded by s.pad; C's padding holds NaN sentinels.
func (s shape) operands(r *rand.Rand, scale float64) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	lda, ldc = s.k+s.pad, s.n+s.pad
	ldb = s.n + s.pad
	br := s.k
	if s.trans {
		ldb, br = s.k+s.pad, s.n
	}
	a, b, c = rnd(s.m*lda), rnd(br*ldb), rnd(s.m*ldc)
	for i := 0; i < s.m; i++ {
		for j := s.n; j < ldc; j++ {
			c[i*ldc+j] = float32(math.NaN())
		}
	}
	return
}

// TestAsmMatchesGo: the assembly kernel and the portable Go one give the
// same bits on the same inputs: every row count 1..4 and beyond, every
// kernel width, k odd and even and past one k-slab, column tails, padded
// leading dimensions, transposed B, accumulation.
func TestAsmMatchesGo(t *testing.T) {
	if !hasAsm {
		t.Skip("no AVX-512 BF16 on this machine")
	}
	for _, s := range shapes() {
		t.Run(s.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(s.m*7919+s.n*31+s.k), 9))
			a, lda, b, ldb, c, ldc := s.operands(r, 1)
			pb, err := Pack(s.trans, s.k, s.n, b, ldb)
			if err != nil {
				t.Fatal(err)
			}
			got := append([]float32(nil), c...)
			want := append([]float32(nil), c...)
			if err := (&Workspace{}).MatMul(s.m, a, lda, pb, s.acc, got, ldc); err != nil {
				t.Fatal(err)
			}
			if err := (&Workspace{PureGo: true}).MatMul(s.m, a, lda, pb, s.acc, want, ldc); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("C[%d][%d]: asm %g (%#08x), Go %g (%#08x)", i/ldc, i%ldc, got[i], math.Float32bits(got[i]),
						want[i], math.Float32bits(want[i]))
				}
			}
		})
	}
}

// TestMatchesReference: both kernels against float64 sums of the
// bf16-rounded operands (float32 summation error only), and against the
// float32 operands within the bf16 rounding bound of the package doc.
func TestMatchesReference(t *testing.T) {
	for _, pure := range []bool{false, true} {
		ws := &Workspace{PureGo: pure}
		for _, s := range shapes() {
			t.Run(fmt.Sprintf("pure%v/%s", pure, s), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(s.m*131+s.n*17+s.k), 5))
				a, lda, b, ldb, c, ldc := s.operands(r, 1)
				pb, err := Pack(s.trans, s.k, s.n, b, ldb)
				if err != nil {
					t.Fatal(err)
				}
				got := append([]float32(nil), c...)
				if err := ws.MatMul(s.m, a, lda, pb, s.acc, got, ldc); err != nil {
					t.Fatal(err)
				}
				bAt := func(p, j int) float32 {
					if s.trans {
						return b[j*ldb+p]
					}
					return b[p*ldb+j]
				}
				for i := 0; i < s.m; i++ {
					for j := 0; j < ldc; j++ {
						g := got[i*ldc+j]
						if j >= s.n {
							if !math.IsNaN(float64(g)) {
								t.Fatalf("padding C[%d][%d] overwritten with %g", i, j, g)
							}
							continue
						}
						var init float64
						if s.acc {
							init = float64(c[i*ldc+j])
						}
						rounded, exact, abs := init, init, math.Abs(init)
						for p := 0; p < s.k; p++ {
							av, bv := a[i*lda+p], bAt(p, j)
							rounded += float64(Round(av)) * float64(Round(bv))
							exact += float64(av) * float64(bv)
							abs += math.Abs(float64(av) * float64(bv))
						}
						sumTol := float64(s.k+1) * 0x1p-24 * abs
						if d := math.Abs(float64(g) - rounded); d > sumTol {
							t.Fatalf("C[%d][%d] = %g, bf16 operands in float64 give %g: |diff| %g > %g", i, j, g, rounded, d, sumTol)
						}
						// Two roundings of at most 2⁻⁸ each per product.
						if d := math.Abs(float64(g) - exact); d > (0x1p-7+0x1p-16)*abs+sumTol {
							t.Fatalf("C[%d][%d] = %g, float32 operands give %g: |diff| %g > 2⁻⁷·%g", i, j, g, exact, d, abs)
						}
					}
				}
			})
		}
	}
}

// TestTinyValues: where products and partial sums fall below float32's
// normal range VDPBF16PS flushes them to zero and Go does not; the two
// then differ by less than 2⁻¹²⁶ per term (the package doc's bound).
func TestTinyValues(t *testing.T) {
	if !hasAsm {
		t.Skip("no AVX-512 BF16 on this machine")
	}
	r := rand.New(rand.NewPCG(7, 8))
	m, n, k := 3, 37, 41
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(r.NormFloat64()) * 0x1p-60
	}
	for i := range b {
		b[i] = float32(r.NormFloat64()) * 0x1p-64
	}
	pb, err := Pack(false, k, n, b, n)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, m*n)
	want := make([]float32, m*n)
	if err := (&Workspace{}).MatMul(m, a, k, pb, false, got, n); err != nil {
		t.Fatal(err)
	}
	if err := (&Workspace{PureGo: true}).MatMul(m, a, k, pb, false, want, n); err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i := range got {
		if got[i] != want[i] {
			differ++
		}
		if d := math.Abs(float64(got[i]) - float64(want[i])); d >= float64(k)*0x1p-126 {
			t.Fatalf("element %d: asm %g, Go %g differ by %g", i, got[i], want[i], d)
		}
	}
	if differ == 0 {
		t.Fatal("no element differs: the inputs do not reach the flushed range")
	}
}

func TestErrors(t *testing.T) {
	b := make([]float32, 12)
	if _, err := Pack(false, 3, 5, b, 5); err == nil {
		t.Error("Pack accepted a 3×5 matrix in 12 floats")
	}
	if _, err := Pack(false, 3, 4, b, 3); err == nil {
		t.Error("Pack accepted ldb < n")
	}
	if _, err := Pack(false, -1, 4, b, 4); err == nil {
		t.Error("Pack accepted k < 0")
	}
	if _, err := Pack(false, 1<<30, 1<<30, b, 1<<30); err == nil {
		t.Error("Pack accepted 2⁶⁰ values")
	}
	pb, err := Pack(true, 3, 4, b, 3)
	if err != nil {
		t.Fatal(err)
	}
	var ws Workspace
	c := make([]float32, 8)
	a := make([]float32, 6)
	if err := ws.MatMul(2, a, 3, nil, false, c, 4); err == nil {
		t.Error("MatMul accepted a nil matrix")
	}
	if err := ws.MatMul(2, a[:5], 3, pb, false, c, 4); err == nil {
		t.Error("MatMul accepted a short A")
	}
	if err := ws.MatMul(2, a, 3, pb, false, c[:7], 4); err == nil {
		t.Error("MatMul accepted a short C")
	}
	if err := ws.MatMul(2, a, 2, pb, false, c, 4); err == nil {
		t.Error("MatMul accepted lda < k")
	}
	if err := ws.MatMul(-1, a, 3, pb, false, c, 4); err == nil {
		t.Error("MatMul accepted m < 0")
	}
	for i := range c {
		c[i] = 5
	}
	if err := ws.MatMul(2, a, 3, pb, false, c, 4); err != nil {
		t.Fatal(err)
	}
	for i, v := range c {
		if v != 0 {
			t.Fatalf("0·B gave C[%d] = %g", i, v)
		}
	}
	// k = 0: C = 0, or unchanged when accumulating.
	p0, err := Pack(false, 0, 3, nil, 3)
	if err != nil {
		t.Fatal(err)
	}
	c = []float32{1, 2, 3}
	if err := ws.MatMul(1, nil, 0, p0, true, c, 3); err != nil || c[0] != 1 || c[2] != 3 {
		t.Fatalf("k=0 accumulate: %v %v", c, err)
	}
	if err := ws.MatMul(1, nil, 0, p0, false, c, 3); err != nil || c[0] != 0 || c[2] != 0 {
		t.Fatalf("k=0: %v %v", c, err)
	}
}
