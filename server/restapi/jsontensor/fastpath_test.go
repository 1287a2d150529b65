package jsontensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// sameTensor compares two tensors exactly: dtype, shape (nil and empty
// differ) and data, floats by their bits.
func sameTensor(a, b *tensor.Tensor) bool {
	if a.DType != b.DType || !reflect.DeepEqual(a.Shape, b.Shape) {
		return false
	}
	switch x := a.Data.(type) {
	case []float32:
		y, ok := b.Data.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y, ok := b.Data.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Data, b.Data)
}

func sameRequest(a, b *PredictRequest) bool {
	if a.SignatureName != b.SignatureName || a.Format != b.Format || len(a.Inputs) != len(b.Inputs) {
		return false
	}
	for n, t := range a.Inputs {
		u, ok := b.Inputs[n]
		if !ok || !sameTensor(t, u) {
			return false
		}
	}
	return true
}

// checkFast runs body through the fast decoder (assembly and pure-Go stage
// 1), the DOM decoder and the public entry point, and fails unless: both
// fast runs agree; where the fast decoder accepts, the DOM decoder accepts
// with the same tensors and charges the same budget; the entry point
// returns exactly what the DOM decoder returns (the same request or the
// same error) and calls sigs once. It reports whether the fast decoder
// accepted.
func checkFast(t *testing.T, body []byte, sig *servable.Signature, lim limits.Request) bool {
	t.Helper()
	calls := 0
	sigs := func(string) (*servable.Signature, error) { calls++; return sig, nil }
	var fast [2]*PredictRequest
	var fastBudget [2]limits.Budget
	for i, pureGo := range []bool{false, true} {
		b := limits.NewBudget(lim)
		before := *b
		req, ok := fastDecode(body, b, sigs, pureGo)
		if !ok {
			if *b != before {
				t.Fatalf("fast decoder gave up but kept its budget charges (%+v → %+v) on %q", before, *b, body)
			}
			req = nil
		}
		fast[i], fastBudget[i] = req, *b
	}
	if (fast[0] == nil) != (fast[1] == nil) || (fast[0] != nil && !sameRequest(fast[0], fast[1])) {
		t.Fatalf("assembly and pure-Go stage 1 disagree on %q: %+v vs %+v", body, fast[0], fast[1])
	}
	domBudget := limits.NewBudget(lim)
	dom, domErr := parsePredictDOM(body, domBudget, sigs)
	if fast[0] != nil {
		if domErr != nil {
			t.Fatalf("fast decoder accepted %q, DOM decoder fails: %v", body, domErr)
		}
		if !sameRequest(fast[0], dom) {
			t.Fatalf("fast and DOM decoders differ on %q:\nfast %+v\n dom %+v", body, fast[0].Inputs, dom.Inputs)
		}
		if fastBudget[0] != *domBudget {
			t.Fatalf("budget after fast %+v, after DOM %+v on %q", fastBudget[0], *domBudget, body)
		}
	}
	calls = 0
	got, err := ParsePredictRequestLimited(body, limits.NewBudget(lim), sigs)
	if calls > 1 {
		t.Fatalf("sigs called %d times", calls)
	}
	switch {
	case (err == nil) != (domErr == nil):
		t.Fatalf("entry point error %v, DOM error %v on %q", err, domErr, body)
	case err != nil && err.Error() != domErr.Error():
		t.Fatalf("entry point error\n%v\nDOM error\n%v", err, domErr)
	case err == nil && !sameRequest(got, dom):
		t.Fatalf("entry point and DOM decoder differ on %q", body)
	}
	return fast[0] != nil
}

func sigInputs(kv ...any) *servable.Signature {
	s := &servable.Signature{Inputs: map[string]servable.TensorInfo{}}
	for i := 0; i < len(kv); i += 2 {
		s.Inputs[kv[i].(string)] = servable.TensorInfo{DType: kv[i+1].(tensor.DType)}
	}
	return s
}

// TestFastAccepts lists bodies the fast decoder must take (so the
// differential tests compare something) and bodies it must leave to the
// DOM decoder.
func TestFastAccepts(t *testing.T) {
	f32 := sigInputs("x", tensor.Float32)
	for _, c := range []struct {
		body string
		sig  *servable.Signature
		fast bool
	}{
		{`{"instances": [1.0, 2.0, 5.0]}`, f32, true},
		{` {"instances":[[1,2],[3,4]]} trailing [ "`, f32, true},
		{"{\n\t\"signature_name\" : \"s\" ,\r\n\"instances\": [[[1e3], [-0.5]]]}", f32, true},
		{`{"inputs": [[1, 2, 3]]}`, sigInputs("x", tensor.Float64), true},
		{`{"inputs": 7}`, sigInputs("x", tensor.Int64), true},
		{`{"inputs": {"a": [1, -2147483648], "c": [[1e300]]}}`, sigInputs("a", tensor.Int32, "c", tensor.Float64), true},
		{`{"instances": [NaN, -Infinity, Infinity, -0, -0.0, 1E-400, 123456789012345678901234567890]}`, sigInputs("x", tensor.Float64), true},
		{`{"instances": [[1, 2], [3]]}`, f32, false}, // ragged
		{`{"instances": [[1, 2], 3]}`, f32, false},   // mixed levels
		{`{"instances": [[]]}`, f32, false},          // empty list
		{`{"instances": []}`, f32, false},            // no instances
		{`{"instances": ["a"]}`, sigInputs("x", tensor.String), false},
		{`{"instances": [{"x": 1}]}`, f32, false}, // instance objects
		{`{"instances": [true]}`, sigInputs("x", tensor.Bool), false},
		{`{"instances": [1], "inputs": [1]}`, f32, false},    // both keys
		{`{"instances": [1], "model": 1}`, f32, false},       // unknown key
		{`{"instances": [1], "instances": [2]}`, f32, false}, // repeated key
		{`{"instances": [1.5]}`, sigInputs("x", tensor.Int32), false},
		{`{"instances": [01]}`, f32, false},
		{`{"instances": [1.]}`, f32, false},
		{`{"instances": [1 2]}`, f32, false},
		{`{"instances": [1,]}`, f32, false},
		{`{"instances": [1]`, f32, false},
		{`{"instances": [1e309]}`, f32, false},
		{`{"signature_name": "a\"b", "instances": [1]}`, f32, false},
		{`{"signature_name": 1, "instances": [1]}`, f32, false},
		{"\xef\xbb\xbf{\"instances\": [1]}", f32, false}, // BOM: DOM's
		{`{"instances": [1]}`, sigInputs("x", tensor.Float32, "y", tensor.Float32), false},
		{`{"inputs": {"x": [1], "y": [2]}}`, f32, false}, // extra name
		{`{"inputs": {"x": "a"}}`, f32, false},
	} {
		if got := checkFast(t, []byte(c.body), c.sig, limits.Request{}); got != c.fast {
			t.Errorf("fast decoder took %q: %v, want %v", c.body, got, c.fast)
		}
	}
}

// TestFastLimits: over a limit, the fast decoder gives up and the DOM
// decoder's error naming the limit comes back.
func TestFastLimits(t *testing.T) {
	f32 := sigInputs("x", tensor.Float32)
	for _, c := range []struct {
		body string
		lim  limits.Request
		want string
	}{
		{`{"instances": [[[1]]]}`, limits.Request{MaxJSONDepth: 3}, "request_max_json_depth"},
		{`{"inputs": {"x": [[1]]}}`, limits.Request{MaxJSONDepth: 3}, "request_max_json_depth"},
		{`{"instances": [[[1]]]}`, limits.Request{MaxRank: 2}, "request_max_rank"},
		{`{"instances": [[1, 2], [3, 4]]}`, limits.Request{MaxElements: 3}, "request_max_elements"},
		{`{"instances": [[1, 2], [3, 4]]}`, limits.Request{MaxBytes: 15}, "request_max_bytes"},
	} {
		checkFast(t, []byte(c.body), f32, c.lim)
		_, err := ParsePredictRequestLimited([]byte(c.body), limits.NewBudget(c.lim), func(string) (*servable.Signature, error) { return f32, nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %+v: error %v, want one naming %s", c.body, c.lim, err, c.want)
		}
	}
	// At the limits exactly, the fast decoder takes them.
	if !checkFast(t, []byte(`{"instances": [[1, 2], [3, 4]]}`), f32, limits.Request{MaxJSONDepth: 3, MaxRank: 2, MaxElements: 4, MaxBytes: 16}) {
		t.Error("fast decoder refused a body at its limits")
	}
}

// randNumber prints a number of one of the shapes clients send, or an edge
// case of rapidjson's parser.
func randNumber(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return strconv.FormatFloat(r.NormFloat64(), 'f', r.IntN(10), 64)
	case 1:
		return strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(80)-40)), 'g', -1, 64)
	case 2:
		return strconv.FormatFloat(float64(float32(r.NormFloat64()*1e3)), 'g', -1, 32)
	case 3:
		return strconv.FormatInt(r.Int64N(1<<40)-(1<<39), 10)
	case 4:
		return strconv.FormatInt(int64(r.Uint64()), 10)
	case 5:
		return strconv.FormatUint(r.Uint64(), 10)
	case 6:
		return strings.Repeat("9", 1+r.IntN(25)) + "." + strings.Repeat("3", r.IntN(25))
	case 7:
		return fmt.Sprintf("%de%d", r.IntN(100), r.IntN(700)-350)
	case 8:
		return []string{"0", "-0", "0.0", "-0.0", "NaN", "Infinity", "-Infinity", "1E+2", "2147483648", "-2147483648", "-2147483649", "4294967295", "4294967296", "9223372036854775807", "-9223372036854775808", "18446744073709551615", "18446744073709551616", "9007199254740993", "0.1e-400", "1e308", "1.7976931348623157e308", "4.9e-324"}[r.IntN(22)]
	case 9:
		return "0." + strings.Repeat("0", r.IntN(20)) + strconv.FormatUint(r.Uint64()>>r.IntN(64), 10)
	case 10:
		return strconv.FormatFloat(r.Float64(), 'f', 6, 64)
	}
	return fmt.Sprintf("%.17g", r.NormFloat64())
}

// randDense prints a dense value of the given shape.
func randDense(r *rand.Rand, shape []int, sb *strings.Builder, sp string) {
	if len(shape) == 0 {
		sb.WriteString(randNumber(r))
		return
	}
	sb.WriteString("[" + sp)
	for i := range shape[0] {
		if i > 0 {
			sb.WriteString("," + sp)
		}
		randDense(r, shape[1:], sb, sp)
	}
	sb.WriteString(sp + "]")
}

// randFastBody builds a body the fast decoder should take, then perhaps
// damages it.
func randFastBody(r *rand.Rand) ([]byte, *servable.Signature) {
	dts := []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64}
	sp := []string{"", " ", "\n\t", "  \r\n"}[r.IntN(4)]
	var sb strings.Builder
	sb.WriteString("{" + sp)
	if r.IntN(3) == 0 {
		sb.WriteString(`"signature_name":` + sp + `"serving_default",` + sp)
	}
	var sig *servable.Signature
	shape := make([]int, r.IntN(4))
	for i := range shape {
		shape[i] = 1 + r.IntN(5)
	}
	switch r.IntN(3) {
	case 0:
		sb.WriteString(`"instances":` + sp)
		if len(shape) == 0 {
			shape = []int{1 + r.IntN(5)}
		}
		randDense(r, shape, &sb, sp)
		sig = sigInputs("x", dts[r.IntN(4)])
	case 1:
		sb.WriteString(`"inputs":` + sp)
		randDense(r, shape, &sb, sp)
		sig = sigInputs("x", dts[r.IntN(4)])
	default:
		sb.WriteString(`"inputs":` + sp + "{")
		k := 1 + r.IntN(3)
		sig = sigInputs()
		for i := range k {
			if i > 0 {
				sb.WriteString("," + sp)
			}
			name := string(rune('a' + i))
			sb.WriteString(`"` + name + `":` + sp)
			randDense(r, shape, &sb, sp)
			sig.Inputs[name] = servable.TensorInfo{DType: dts[r.IntN(4)]}
		}
		sb.WriteString("}")
	}
	sb.WriteString(sp + "}")
	b := []byte(sb.String())
	if r.IntN(3) == 0 && len(b) > 0 {
		// Damage: change, drop or insert a byte.
		i := r.IntN(len(b))
		c := "[]{},:\" -.eE0123456789aNI\\\x00"[r.IntN(27)]
		switch r.IntN(3) {
		case 0:
			b[i] = c
		case 1:
			b = append(b[:i], b[i+1:]...)
		default:
			b = append(b[:i], append([]byte{c}, b[i:]...)...)
		}
	}
	return b, sig
}

func TestFastRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	took := 0
	const n = 4000
	for range n {
		body, sig := randFastBody(r)
		if checkFast(t, body, sig, limits.Request{}) {
			took++
		}
	}
	// Undamaged bodies whose numbers fit their dtypes go the fast way.
	t.Logf("fast decoder took %d of %d bodies", took, n)
	if took < n/5 {
		t.Errorf("fast decoder took only %d of %d bodies", took, n)
	}
}

// TestFastNumbers compares scanNumberFast with the DOM's parseNumber on
// many numbers, where the fast one answers.
func TestFastNumbers(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	fastN, swarN := 0, 0
	for range 200000 {
		s := randNumber(r)
		if r.IntN(4) == 0 {
			s = "-" + s
		}
		// Followed by a delimiter, then perhaps by more text (the eight-byte
		// reads need 8 bytes).
		b := []byte(s + []string{",", "]", " ", "x", ", 1.25, 2]", "0]]]]]]]]]", "e5,1,2,3,4,5", ", 0.5, 0.25, 0.125]", "]]]]]]]]]]]]]]]]", "E+1, 2, 3, 4, 5, 6"}[r.IntN(10)])
		want, wantEnd, wantOK := scanNumberSlow(b, 0)
		if got, end, ok := scanNumberFast(b, 0); ok {
			fastN++
			if !wantOK || got != want || end != wantEnd {
				t.Fatalf("%q: fast %+v end %d, DOM %+v end %d ok %v", b, got, end, want, wantEnd, wantOK)
			}
		}
		if got, end, term, ok := scanDoubleFast(b, 0); ok {
			swarN++
			if !wantOK || math.Float64bits(got) != math.Float64bits(want.double()) || end != wantEnd || term != b[end] {
				t.Fatalf("%q: scanDoubleFast %v end %d, DOM %v end %d ok %v", b, got, end, want.double(), wantEnd, wantOK)
			}
		}
	}
	t.Logf("fast parsers answered %d and %d numbers", fastN, swarN)
	if fastN < 100000 || swarN < 15000 {
		t.Errorf("fast number parsers answered only %d and %d numbers", fastN, swarN)
	}
}

// TestDigitRun checks the eight-byte digit helpers against a byte loop.
func TestDigitRun(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	var buf [8]byte
	for range 100000 {
		for i := range buf {
			if r.IntN(5) == 0 {
				buf[i] = byte(r.UintN(256))
			} else {
				buf[i] = byte('0' + r.IntN(10))
			}
		}
		x := load8(buf[:], 0)
		want := 0
		for want < 8 && isDigit(buf[want]) {
			want++
		}
		if got := digitRun(x); got != want {
			t.Fatalf("digitRun(%q) = %d, want %d", buf, got, want)
		}
		if want > 0 {
			v, _ := strconv.ParseUint(string(buf[:want]), 10, 64)
			if got := digitsValue(x, want); got != v {
				t.Fatalf("digitsValue(%q, %d) = %d, want %d", buf, want, got, v)
			}
		}
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range []string{
		`{"instances": [1.0, 2.0, 5.0]}`,
		`{"instances": [[1,2],[3,4]]}`,
		`{"signature_name": "s", "inputs": {"a": [[1]], "c": [[1e300, -0]]}}`,
		`{"inputs": 12345678901234567890}`,
		`{"instances": [[NaN, -Infinity], [1E-400, 0.1e2]]}`,
		"{\"instances\":\n[[1.5],\t[2.5]]} x",
	} {
		for k := range fuzzSigs {
			f.Add(byte(k), []byte(s))
		}
	}
	r := rand.New(rand.NewPCG(15, 16))
	for range 20 {
		b, _ := randFastBody(r)
		f.Add(byte(r.IntN(8)), b)
	}
	fuzzSig := append(fuzzSigs[:len(fuzzSigs):len(fuzzSigs)],
		sigInputs("a", tensor.Float32, "c", tensor.Float64),
		sigInputs("a", tensor.Int64, "b", tensor.Int32))
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		sig := fuzzSig[int(which)%len(fuzzSig)]
		checkFast(t, body, sig, limits.Request{})
		got := allocated(func() {
			_, _ = ParsePredictRequest(body, func(string) (*servable.Signature, error) { return sig, nil })
		})
		if bound := maxFactor*uint64(len(body)) + parseSlop; got > bound {
			t.Fatalf("parsing %d bytes allocated %d, over %d", len(body), got, bound)
		}
	})
}

// TestFastFallbackMemory: a body the fast decoder allocates for and then
// leaves to the DOM decoder (a bad token at the end) still parses within
// the package's memory bound.
func TestFastFallbackMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation bounds are measured without the race detector (make test runs it without first)")
	}
	const n = 1 << 20
	for _, c := range []struct {
		body string
		dt   tensor.DType
	}{
		{`{"instances": [` + repeatJoin("0", n/2-1) + `,x]}`, tensor.Int64},
		{`{"inputs": [` + repeatJoin("0", n/2-1) + `,1.5]}`, tensor.Int64},
		{`{"instances": [` + repeatJoin("0", n/2-1) + `,01]}`, tensor.Float64},
		{`{"instances": [` + repeatJoin("[0]", n/4-1) + `,[0,0]]}`, tensor.Float64},
		{`{"instances": [` + repeatJoin("[0]", n/4-1) + `,[0,0]]}`, tensor.Float32},
		{`{"instances": [` + repeatJoin("[0.5]", n/6-1) + `,[0,0]]}`, tensor.Float64},
		{`{"instances": [` + repeatJoin("[0.25]", n/7-1) + `,[0,0]]}`, tensor.Float64},
		{`{"instances": [` + repeatJoin("0", n/2-1) + `,0.5]}`, tensor.Int32},
		{`{"instances": [` + repeatJoin("10", n/3-1) + `,0.5]}`, tensor.Int32},
	} {
		sig := sigOfType(c.dt)
		b := []byte(c.body)
		got := allocated(func() { _, _ = ParsePredictRequest(b, sig) })
		bound := maxFactor*uint64(len(b)) + parseSlop
		t.Logf("%s...: %.2f bytes per body byte", c.body[:20], float64(got)/float64(len(b)))
		if got > bound {
			t.Errorf("%s...: allocated %d, over %d", c.body[:20], got, bound)
		}
	}
}
