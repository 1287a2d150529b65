package jsontensor

import (
	"bytes"
	"math"
	"slices"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// This file holds the fast predict decoder: for the bodies that carry only
// dense arrays of numbers, it fills tensors straight from the text without
// building the DOM of dom.go. It accepts a narrow grammar and gives up
// (ok == false) on anything else, and the caller then runs the DOM decoder
// from scratch, so every error, and every body with strings, base64
// objects, booleans, instance objects, empty or ragged lists, unknown or
// repeated keys, goes through the code that matches TF Serving message for
// message. What it accepts:
//
//	{ member (, member)* }   followed by anything (kParseStopWhenDoneFlag)
//	member: "signature_name": "string"
//	      | "instances": dense list
//	      | "inputs": dense | { "name": dense (, "name": dense)* }
//
// where keys and strings have no escapes or control bytes, dense is a
// number or a list of equally shaped dense values of rank at most
// fastMaxRank (no empty lists), numbers are rapidjson numbers (fastnum.go),
// and the input dtypes are float, double, int32 or int64.
//
// Pass A walks the top-level object and, for each dense list, runs stage 1
// (scan.go) over it to find its closing bracket and count its scalar
// tokens, without parsing any number. Then the signature is looked up, and
// for each input the budget is charged and the tensor allocated at that
// count, before pass B walks the list's text once, checking its grammar,
// nesting and shape while it parses the numbers into the tensor.

// fastMaxRank bounds the rank the fast decoder handles; deeper values go to
// the DOM decoder.
const fastMaxRank = 16

// fastMaxInputs bounds the members of an "inputs" object the fast decoder
// handles.
const fastMaxInputs = 16

// The fast decoder allocates at most fastMaxAllocNum/fastMaxAllocDen bytes
// per body byte for its tensors.
const (
	fastMaxAllocNum = 3
	fastMaxAllocDen = 2
)

// denseValue is one dense value found by pass A.
type denseValue struct {
	key   []byte // member name in an "inputs" object
	start int    // body offset of its first byte
	end   int    // body offset of its closing bracket (list) or last byte
	list  bool
	n     int64 // scalar tokens (1 for a number)
	depth int   // containers around it
}

// fastPlan is what pass A found.
type fastPlan struct {
	body      []byte
	pureGo    bool
	sigName   []byte
	hasSig    bool
	instances bool // an "instances" member was seen
	inputs    bool // an "inputs" member was seen
	inputsObj bool // "inputs" is an object of named values
	values    [fastMaxInputs]denseValue
	nvalues   int
}

// fastDecode tries the fast decoder. It returns ok == false, with budget
// untouched, when the body is outside its grammar or fails any check; sigs
// may then have been called (callers memoize it, see onceSigs).
func fastDecode(body []byte, budget *limits.Budget, sigs func(string) (*servable.Signature, error), pureGo bool) (*PredictRequest, bool) {
	if len(body) == 0 || len(body) > math.MaxUint32 {
		return nil, false
	}
	maxDepth := budget.Limits().MaxJSONDepth
	pl := fastPlan{body: body, pureGo: pureGo}
	if maxDepth < 2 || !pl.passA() || pl.instances == pl.inputs {
		return nil, false
	}
	// The default name, named or not, costs no allocation.
	resolved := servable.DefaultSignature
	if len(pl.sigName) > 0 && string(pl.sigName) != servable.DefaultSignature {
		resolved = string(pl.sigName)
	}
	sig, err := sigs(resolved)
	if err != nil || sig == nil || len(sig.Inputs) == 0 {
		return nil, false
	}
	var nameBuf [fastMaxInputs]string
	if len(sig.Inputs) > fastMaxInputs {
		return nil, false
	}
	names := nameBuf[:0]
	for n := range sig.Inputs {
		names = append(names, n)
	}
	slices.Sort(names)
	vals := pl.values[:pl.nvalues]
	// order[i] is the value of names[i].
	var order [fastMaxInputs]int
	if pl.inputsObj {
		if len(vals) != len(names) {
			return nil, false // missing or unknown names
		}
		for i, n := range names {
			order[i] = -1
			for k := range vals {
				if string(vals[k].key) == n {
					order[i] = k
				}
			}
			if order[i] < 0 {
				return nil, false
			}
		}
	} else if len(names) != 1 || len(vals) != 1 || (pl.instances && !vals[0].list) {
		return nil, false
	}
	// The tensors may yet be dropped for the DOM decoder, which then
	// allocates on its own (up to about 14.5 bytes per body byte on bodies
	// of numbers in small lists); bodies whose tensors would take more than
	// 1.5 bytes per body byte (short integers as int64 or
	// float64, "0,0,..." and the like) go to it directly, so the two
	// together stay within the package's bound of 16.
	var total int64
	for i, n := range names {
		total += vals[order[i]].n * fastElementBytes(sig.Inputs[n].DType)
	}
	if total > int64(len(body))*fastMaxAllocNum/fastMaxAllocDen {
		return nil, false
	}
	saved := *budget
	req := &PredictRequest{SignatureName: resolved, Inputs: make(map[string]*tensor.Tensor, len(names)), Format: Columnar}
	if pl.instances {
		req.Format = Row
	}
	for i, n := range names {
		v := &vals[order[i]]
		dt := sig.Inputs[n].DType
		size := fastElementBytes(dt)
		// v.n bounds the elements (and is their count when the value is
		// valid); the rank is checked once pass B knows it.
		if size == 0 || budget.Take(v.n, v.n*size) != nil {
			*budget = saved
			return nil, false
		}
		t, ok := fillDense(body, v, dt, maxDepth)
		if !ok || budget.Rank(len(t.Shape)) != nil {
			*budget = saved
			return nil, false
		}
		req.Inputs[n] = t
	}
	return req, true
}

// fastElementBytes is elementBytes for the dtypes the fast decoder fills,
// 0 for the others.
func fastElementBytes(dt tensor.DType) int64 {
	switch dt {
	case tensor.Float32, tensor.Int32:
		return 4
	case tensor.Float64, tensor.Int64:
		return 8
	}
	return 0
}

// stringAt returns the contents of the string whose opening quote is at
// body[p] and the offset after its closing quote, or false when it has an
// escape or a control byte (or no end).
func stringAt(body []byte, p int) ([]byte, int, bool) {
	q := bytes.IndexByte(body[p+1:], '"')
	if q < 0 {
		return nil, 0, false
	}
	s := body[p+1 : p+1+q]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, 0, false
		}
	}
	return s, p + 2 + q, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// skipSpace returns the offset of the first non-whitespace byte at or after
// p (len(b) if none).
func skipSpace(b []byte, p int) int {
	for p < len(b) && isSpace(b[p]) {
		p++
	}
	return p
}

// at returns b[p], or 0 past the end (where rapidjson's stream gives '\0').
func at(b []byte, p int) byte {
	if p < len(b) {
		return b[p]
	}
	return 0
}

// key reads a member name at p and the colon after it; it returns the
// offset of the member's value.
func (pl *fastPlan) key(p int) ([]byte, int, bool) {
	if at(pl.body, p) != '"' {
		return nil, 0, false
	}
	k, p, ok := stringAt(pl.body, p)
	if !ok {
		return nil, 0, false
	}
	p = skipSpace(pl.body, p)
	if at(pl.body, p) != ':' {
		return nil, 0, false
	}
	return k, skipSpace(pl.body, p+1), true
}

// passA checks the top-level object against the grammar and records its
// dense values.
func (pl *fastPlan) passA() bool {
	b := pl.body
	p := skipSpace(b, 0)
	if at(b, p) != '{' {
		return false
	}
	p = skipSpace(b, p+1)
	for {
		k, q, ok := pl.key(p)
		if !ok {
			return false
		}
		p = q
		switch string(k) {
		case "signature_name":
			if pl.hasSig || at(b, p) != '"' {
				return false
			}
			pl.hasSig = true
			if pl.sigName, p, ok = stringAt(b, p); !ok {
				return false
			}
		case "instances":
			if pl.instances || at(b, p) != '[' {
				return false
			}
			pl.instances = true
			if p, ok = pl.dense(p, nil, 1); !ok {
				return false
			}
		case "inputs":
			if pl.inputs {
				return false
			}
			pl.inputs = true
			if at(b, p) != '{' {
				if p, ok = pl.dense(p, nil, 1); !ok {
					return false
				}
				break
			}
			pl.inputsObj = true
			p = skipSpace(b, p+1)
			for {
				name, q, ok := pl.key(p)
				if !ok {
					return false
				}
				for i := range pl.nvalues {
					if bytes.Equal(pl.values[i].key, name) {
						return false
					}
				}
				if p, ok = pl.dense(q, name, 2); !ok {
					return false
				}
				p = skipSpace(b, p)
				if at(b, p) == '}' {
					p++
					break
				}
				if at(b, p) != ',' {
					return false
				}
				p = skipSpace(b, p+1)
			}
		default:
			return false
		}
		p = skipSpace(b, p)
		switch at(b, p) {
		case '}':
			return true
		case ',':
			p = skipSpace(b, p+1)
		default:
			return false
		}
	}
}

// isNumberStart reports whether c may start a number token (rapidjson also
// takes NaN and Infinity).
func isNumberStart(c byte) bool {
	return isDigit(c) || c == '-' || c == 'N' || c == 'I'
}

// isDelim reports whether c ends a scalar token.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', ',', ']', '}', '[', '{', ':', '"':
		return true
	}
	return false
}

// dense records the dense value at p, nested in depth containers, under
// key, and returns the offset after it.
func (pl *fastPlan) dense(p int, key []byte, depth int) (int, bool) {
	if pl.nvalues == fastMaxInputs {
		return 0, false
	}
	b := pl.body
	v := denseValue{key: key, start: p, depth: depth}
	switch c := at(b, p); {
	case c == '[':
		// Lists of strings, objects or literals go to the DOM decoder: no
		// need to scan them.
		q := p
		for q < len(b) && (b[q] == '[' || isSpace(b[q])) {
			q++
		}
		if !isNumberStart(at(b, q)) {
			return 0, false
		}
		end, n := listBound(b[p:], pl.pureGo)
		if end < 0 {
			return 0, false
		}
		v.list, v.end, v.n = true, p+end, n
	case isNumberStart(c):
		e := p + 1
		for e < len(b) && !isDelim(b[e]) {
			e++
		}
		v.end, v.n = e-1, 1
	default:
		return 0, false
	}
	pl.values[pl.nvalues] = v
	pl.nvalues++
	return v.end + 1, true
}

// fillDense allocates v's tensor (v.n elements) and parses its numbers into
// it (pass B), checking the grammar of the list, its nesting (rank at most
// fastMaxRank, depth at most maxDepth) and that it is dense.
func fillDense(body []byte, v *denseValue, dt tensor.DType, maxDepth int) (*tensor.Tensor, bool) {
	// Only the value's bytes: the walk cannot run past it.
	b := body[:v.end+1]
	n := int(v.n)
	var (
		f32  []float32
		f64  []float64
		i32  []int32
		i64  []int64
		data any
	)
	switch dt {
	case tensor.Float32:
		f32 = make([]float32, n)
		data = f32
	case tensor.Float64:
		f64 = make([]float64, n)
		data = f64
	case tensor.Int32:
		i32 = make([]int32, n)
		data = i32
	case tensor.Int64:
		i64 = make([]int64, n)
		data = i64
	default:
		return nil, false
	}
	if !v.list {
		e, ok := storeNumber(b, v.start, 0, f32, f64, i32, i64)
		if !ok || e != len(b) {
			return nil, false
		}
		return &tensor.Tensor{DType: dt, Shape: tensor.Shape{}, Data: data}, true
	}
	// level is the number of open lists, count[l] the elements so far of
	// the open list at level l. The size of level l, shape[l], is set by
	// the first list closed at that level (0 until then; empty lists are
	// refused), which is the first one opened there: the one on the path of
	// first elements, as in GetDenseTensorShape.
	var count, shape [fastMaxRank]int
	level, rank, i := 0, -1, 0
	p := v.start
	for {
		// A value starts at p.
		if level > 0 {
			count[level-1]++
		}
		if b[p] == '[' {
			if (rank >= 0 && level >= rank) || level == fastMaxRank || v.depth+level+1 > maxDepth {
				return nil, false
			}
			count[level] = 0
			level++
			p = skipSpace(b, p+1)
			if p >= len(b) || b[p] == ']' {
				return nil, false // empty list
			}
			continue
		}
		if rank < 0 {
			rank = level
		} else if level != rank {
			return nil, false
		}
		// A run of numbers: this one and those after commas in the same
		// list (which would be a list too deep were it to open one), counted
		// in run, not in memory.
		var (
			run int
			ok  bool
		)
		first := i
		switch {
		case f32 != nil:
			p, i, ok = floatRun(b, p, f32, i)
		case f64 != nil:
			p, i, ok = floatRun(b, p, f64, i)
		default:
			p, i, ok = intRun(b, p, i, i32, i64)
		}
		if !ok {
			return nil, false
		}
		run = i - first - 1
		count[level-1] += run
		// After a value: ',' and the next value, or ']' closing a list.
		for {
			p = skipSpace(b, p)
			if p >= len(b) {
				return nil, false
			}
			c := b[p]
			if c == ',' {
				p = skipSpace(b, p+1)
				if p >= len(b) {
					return nil, false
				}
				break
			}
			if c != ']' {
				return nil, false
			}
			p++
			level--
			if shape[level] == 0 {
				shape[level] = count[level]
			} else if count[level] != shape[level] {
				return nil, false
			}
			if level == 0 {
				if p != len(b) || i != n || limits.Elements(dims64(shape[:rank])) != int64(n) {
					return nil, false
				}
				return denseTensor(dt, shape[:rank], data), true
			}
		}
	}
}

// tensorWithDims is a tensor and the dimensions of its shape in one
// allocation, for the ranks most requests have.
type tensorWithDims struct {
	t    tensor.Tensor
	dims [4]int
}

// denseTensor returns a tensor of data with a copy of shape.
func denseTensor(dt tensor.DType, shape []int, data any) *tensor.Tensor {
	if len(shape) > len(tensorWithDims{}.dims) {
		return &tensor.Tensor{DType: dt, Shape: slices.Clone(tensor.Shape(shape)), Data: data}
	}
	b := &tensorWithDims{}
	r := copy(b.dims[:], shape)
	b.t = tensor.Tensor{DType: dt, Shape: b.dims[:r:r], Data: data}
	return &b.t
}

// afterNumber returns the offset of the first byte at or after e (the end
// of a number) that is not whitespace, false at the end of b.
func afterNumber(b []byte, e int) (int, bool) {
	p := skipSpace(b, e)
	return p, p < len(b)
}

// afterComma returns the offset of the value after the comma at b[p],
// false at the end of b or where that value is a list (a list in a run of
// numbers is too deep).
func afterComma(b []byte, p int) (int, bool) {
	p = skipSpace(b, p+1)
	return p, p < len(b) && b[p] != '['
}

// intRun is floatRun for the integer dtypes: one of i32 and i64 is
// non-nil.
func intRun(b []byte, p, i int, i32 []int32, i64 []int64) (int, int, bool) {
	for {
		e, ok := storeNumber(b, p, i, nil, nil, i32, i64)
		if !ok {
			return 0, 0, false
		}
		i++
		if p, ok = afterNumber(b, e); !ok {
			return 0, 0, false
		}
		if b[p] != ',' {
			return p, i, true
		}
		if p, ok = afterComma(b, p); !ok {
			return 0, 0, false
		}
	}
}

// floatRun parses the run of numbers at b[p] (a number, then each number
// after a comma, up to the first byte after a number that is neither a
// comma nor whitespace) into dst[i:], as fillDense's loop for the integer
// dtypes does with storeNumber. It returns the offset of that byte, the
// next i.
//
// The common numbers are parsed in the loop itself, with scanDoubleFast's
// arithmetic (see there; TestFloatRun holds the two to the DOM parser), and
// a comma followed by a number (or by one space and a number) goes straight
// to it: a run of such numbers costs no call per number. Anything else
// takes scanDouble and the general whitespace handling.
func floatRun[T float32 | float64](b []byte, p int, dst []T, i int) (int, int, bool) {
	for {
		if i >= len(dst) {
			return 0, 0, false
		}
		var (
			d  float64
			e  int
			t  byte
			ok bool
		)
	fast:
		switch {
		case p+16 <= len(b):
			// scanDoubleFast, inline.
			x := load8(b, p)
			q := p
			minus := byte(x) == '-'
			avail := 8
			if minus {
				x >>= 8
				q++
				avail = 7
			}
			var m uint64
			k := 1
			if byte(x) != '0' {
				k = digitRun(x)
				if k == 0 || k >= avail {
					break fast
				}
				m = digitsValue(x, k)
			}
			q += k
			switch c := byte(x >> (8 * uint(k))); c {
			case '.':
			case 'e', 'E':
				break fast
			default:
				if minus {
					d, e, t, ok = float64(-int64(m)), q, c, true
				} else {
					d, e, t, ok = float64(m), q, c, true
				}
				break fast
			}
			q++
			y := load8(b, q)
			f := digitRun(y)
			if f == 0 || f == 8 {
				break fast
			}
			t = byte(y >> (8 * uint(f)))
			if t == 'e' || t == 'E' {
				break fast
			}
			m = m*swarPow10[f&7] + digitsValue(y, f)
			d = float64(int64(m)) / pow10[f&7]
			if minus {
				d = -d
			}
			e, ok = q+f, true
		}
		if !ok {
			if d, e, ok = scanDouble(b, p); !ok {
				return 0, 0, false
			}
			t = at(b, e)
		}
		dst[i] = T(d)
		i++
		if t == ',' && e+2 < len(b) {
			// The next number, after ',' or ", ".
			q := e + 1
			if b[q] == ' ' {
				q++
			}
			if c := b[q]; c == '-' || isDigit(c) {
				p = q
				continue
			}
		}
		if p, ok = afterNumber(b, e); !ok {
			return 0, 0, false
		}
		if b[p] != ',' {
			return p, i, true
		}
		if p, ok = afterComma(b, p); !ok {
			return 0, 0, false
		}
	}
}

// storeNumber parses the number at b[p] into element i of the one non-nil
// slice; it returns the offset after the number.
func storeNumber(b []byte, p, i int, f32 []float32, f64 []float64, i32 []int32, i64 []int64) (int, bool) {
	switch {
	case f32 != nil || f64 != nil:
		d, e, ok := scanDouble(b, p)
		if !ok {
			return 0, false
		}
		if f32 != nil && i < len(f32) {
			f32[i] = float32(d)
		} else if i < len(f64) {
			f64[i] = d
		} else {
			return 0, false
		}
		return e, true
	}
	r, e, ok := scanNumber(b, p)
	if !ok {
		return 0, false
	}
	switch {
	case i32 != nil && i < len(i32) && r.flags&fInt != 0:
		i32[i] = int32(r.v)
	case i64 != nil && i < len(i64) && r.flags&fInt64 != 0:
		i64[i] = int64(r.v)
	default:
		return 0, false
	}
	return e, true
}

func dims64(s []int) []int64 {
	var d [fastMaxRank]int64
	for i, x := range s {
		d[i] = int64(x)
	}
	return d[:len(s)]
}

// onceSigs wraps sigs so that it runs at most once, for the fast decoder
// and the DOM decoder after it to see the same answer from one call.
func onceSigs(sigs func(string) (*servable.Signature, error)) func(string) (*servable.Signature, error) {
	var (
		done bool
		sig  *servable.Signature
		err  error
	)
	return func(name string) (*servable.Signature, error) {
		if !done {
			done = true
			sig, err = sigs(name)
		}
		return sig, err
	}
}
