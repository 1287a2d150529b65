package jsontensor

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveStructurals is stage 1 one byte at a time: the reference the
// word-parallel version must match. A backslash escapes the next byte
// anywhere (as in simdjson; outside strings both are scalar bytes), an
// unescaped quote opens or closes a string, and a scalar byte starts a token
// unless it follows a scalar byte other than a quote.
func naiveStructurals(body []byte) []int {
	var out []int
	esc, inStr, prev := false, false, false
	for i, c := range body {
		isQ := c == '"' && !esc
		esc = c == '\\' && !esc
		isOp := c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ':'
		isWs := c == ' ' || c == '\t' || c == '\n' || c == '\r'
		scalar := !isOp && !isWs
		switch {
		case isQ && !inStr:
			if !prev {
				out = append(out, i)
			}
			inStr = true
		case isQ:
			inStr = false
		case inStr:
		case isOp:
			out = append(out, i)
		case scalar && !prev:
			out = append(out, i)
		}
		prev = scalar && !isQ
	}
	return out
}

func scanAll(body []byte, pureGo bool) []int {
	var out []int
	s := newS1Scanner(body, pureGo)
	for p := s.nextPos(); p >= 0; p = s.nextPos() {
		out = append(out, p)
	}
	return out
}

// checkStage1 compares the scanner, with the assembly classifier (when the
// CPU has it) and with the Go one, against naiveStructurals.
func checkStage1(t *testing.T, body []byte) {
	t.Helper()
	want := naiveStructurals(body)
	for _, pureGo := range []bool{false, true} {
		if got := scanAll(body, pureGo); !slices.Equal(got, want) {
			t.Fatalf("pureGo=%v body %q:\n got %v\nwant %v", pureGo, body, got, want)
		}
	}
}

// checkClassify compares the assembly and Go classifiers mask by mask.
func checkClassify(t *testing.T, src []byte) {
	t.Helper()
	n := len(src) / s1Block
	a := make([]uint64, s1Masks*n)
	g := make([]uint64, s1Masks*n)
	classifyBlocksAsm(src[:n*s1Block], a)
	classifyBlocksGo(src[:n*s1Block], g)
	if !slices.Equal(a, g) {
		for i := range a {
			if a[i] != g[i] {
				t.Fatalf("block %d mask %d: asm %016x, go %016x (block %q)", i/s1Masks, i%s1Masks, a[i], g[i], src[i/s1Masks*s1Block:][:s1Block])
			}
		}
	}
}

func TestStage1Examples(t *testing.T) {
	for _, c := range []struct {
		body string
		want []int
	}{
		{`{"a": [1.5, -2]}`, []int{0, 1, 4, 6, 7, 10, 12, 14, 15}},
		{`["a,b", "c\"]", x]`, []int{0, 1, 6, 8, 14, 16, 17}},
		{`"\\" 1`, []int{0, 5}},
		{`1"a"x`, []int{0, 4}},
		{`"a"x`, []int{0, 3}},
	} {
		if got := naiveStructurals([]byte(c.body)); !slices.Equal(got, c.want) {
			t.Errorf("naive %q = %v, want %v", c.body, got, c.want)
		}
		checkStage1(t, []byte(c.body))
	}
}

func TestStage1Random(t *testing.T) {
	t.Logf("assembly classifier: %v", hasS1Asm)
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\"\\\\\"[]{},: \t\n\ra1-.e\x00\x0c\x1a\x5b\x7b\xff\x80")
	for iter := range 3000 {
		n := r.IntN(300)
		if iter%100 == 0 {
			n = 4096 + r.IntN(5000) // across chunks
		}
		body := make([]byte, n)
		for i := range body {
			if r.IntN(8) == 0 {
				body[i] = byte(r.UintN(256))
			} else {
				body[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		// Long backslash runs across block boundaries.
		if iter%3 == 0 && n > 70 {
			at := r.IntN(n - 10)
			for i := range r.IntN(10) {
				body[at+i] = '\\'
			}
		}
		checkStage1(t, body)
		checkClassify(t, body)
	}
}

func TestClassifyAllBytes(t *testing.T) {
	src := make([]byte, 256)
	for i := range src {
		src[i] = byte(i)
	}
	checkClassify(t, src)
	g := make([]uint64, s1Masks*4)
	classifyBlocksGo(src, g)
	for i := range 256 {
		c := byte(i)
		for m, want := range [s1Masks]bool{c == '"', c == '\\', c == '[' || c == ']' || c == '{' || c == '}' || c == ',' || c == ':', c == ' ' || c == '\t' || c == '\n' || c == '\r', c == '[', c == ']'} {
			if got := g[s1Masks*(i/64)+m]>>(i%64)&1 == 1; got != want {
				t.Errorf("byte %#x mask %d = %v, want %v", i, m, got, want)
			}
		}
	}
}

// naiveListBound is listBound one structural at a time.
func naiveListBound(body []byte) (int, int64) {
	depth, scalars := 0, int64(0)
	for _, p := range naiveStructurals(body) {
		switch body[p] {
		case '[':
			depth++
		case ']':
			if depth--; depth == 0 {
				return p, scalars
			}
		case '{', '}', ',', ':':
		default:
			scalars++
		}
	}
	return -1, 0
}

func TestListBound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("[[[]]],,,  1-2.5e\"\\{}:x")
	for iter := range 3000 {
		n := 1 + r.IntN(200)
		if iter%50 == 0 {
			n = 4096 + r.IntN(9000)
		}
		body := make([]byte, n)
		body[0] = '['
		for i := 1; i < n; i++ {
			body[i] = alphabet[r.IntN(len(alphabet))]
		}
		wantEnd, wantN := naiveListBound(body)
		for _, pureGo := range []bool{false, true} {
			end, sc := listBound(body, pureGo)
			if end != wantEnd || (end >= 0 && sc != wantN) {
				t.Fatalf("pureGo=%v %q: listBound = %d, %d; want %d, %d", pureGo, body, end, sc, wantEnd, wantN)
			}
		}
	}
	if end, n := listBound([]byte(`[[1, 2], [3, "]"]] x`), false); end != 17 || n != 4 {
		t.Errorf("listBound = %d, %d; want 17, 4", end, n)
	}
}

// FuzzStage1 compares stage 1 with the assembly classifier, with the Go one
// and with naiveStructurals, and listBound with naiveListBound, on any
// input.
func FuzzStage1(f *testing.F) {
	for _, s := range []string{`{"a": [1.5, -2]}`, `["a,b", "c\"]", x]`, `"\\" 1`, `[[1, 2], [3, "]"]] x`, "\\\\\\\"[\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkStage1(t, body)
		padded := append(body[:len(body):len(body)], make([]byte, (s1Block-len(body)%s1Block)%s1Block)...)
		checkClassify(t, padded)
		if len(body) > 0 && body[0] == '[' {
			wantEnd, wantN := naiveListBound(body)
			for _, pureGo := range []bool{false, true} {
				if end, n := listBound(body, pureGo); end != wantEnd || (end >= 0 && n != wantN) {
					t.Fatalf("pureGo=%v: listBound = %d, %d; want %d, %d", pureGo, end, n, wantEnd, wantN)
				}
			}
		}
	})
}
