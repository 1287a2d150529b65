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
//	      | "instances": dense
//	      | "inputs": dense | { "name": dense (, "name": dense)* }
//
// where keys and strings have no escapes or control bytes, dense is a
// number or a list of equally shaped dense values of rank at most
// fastMaxRank (no empty lists), numbers are rapidjson numbers (fastnum.go),
// and the input dtypes are float, double, int32 or int64.
//
// Two passes: pass A walks the structurals of stage 1 (scan.go), checks the
// grammar and the nesting depth, and measures each dense value's shape;
// then the signature is looked up, the budget charged and each tensor
// allocated once at its final size; pass B parses the numbers of each dense
// value into its tensor. Pass A touches no number byte and allocates
// nothing that depends on the body.

// fastMaxRank bounds the rank the fast decoder handles; deeper values go to
// the DOM decoder.
const fastMaxRank = 16

// fastMaxInputs bounds the members of an "inputs" object the fast decoder
// handles.
const fastMaxInputs = 16

// denseValue is one dense value found by pass A.
type denseValue struct {
	key   []byte // member name in an "inputs" object
	start int    // body offset of its first structural
	rank  int
	shape [fastMaxRank]int
	n     int64 // leaves
}

func (v *denseValue) shapeOf() tensor.Shape {
	s := make(tensor.Shape, v.rank)
	copy(s, v.shape[:v.rank])
	return s
}

// fastPlan is what pass A found.
type fastPlan struct {
	sigName    []byte
	hasSig     bool
	instances  bool // an "instances" member was seen
	inputs     bool // an "inputs" member was seen
	inputsObj  bool // "inputs" is an object of named values
	values     [fastMaxInputs]denseValue
	nvalues    int
	maxDepth   int
	scan       s1Scanner
	body       []byte
	lastStruct int
}

// fastDecode tries the fast decoder. It returns ok == false, with budget
// untouched, when the body is outside its grammar or fails any check; sigs
// may then have been called (callers memoize it, see onceSigs).
func fastDecode(body []byte, budget *limits.Budget, sigs func(string) (*servable.Signature, error), pureGo bool) (*PredictRequest, bool) {
	if len(body) == 0 || len(body) > math.MaxUint32 {
		return nil, false
	}
	pl := &fastPlan{body: body, maxDepth: budget.Limits().MaxJSONDepth, scan: newS1Scanner(body, pureGo)}
	if !pl.passA() {
		return nil, false
	}
	if pl.instances == pl.inputs {
		return nil, false
	}
	signame := string(pl.sigName)
	resolved := signame
	if resolved == "" {
		resolved = servable.DefaultSignature
	}
	sig, err := sigs(resolved)
	if err != nil || sig == nil || len(sig.Inputs) == 0 {
		return nil, false
	}
	names := make([]string, 0, len(sig.Inputs))
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
	} else if len(names) != 1 || len(vals) != 1 || (pl.instances && vals[0].rank == 0) {
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
		if size == 0 || budget.Rank(v.rank) != nil || budget.Take(v.n, v.n*size) != nil {
			*budget = saved
			return nil, false
		}
		t, ok := fillDense(body, v, dt)
		if !ok {
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
// body[p] and the offset of its closing quote, or false when it has an
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
	return s, p + 1 + q, true
}

// next returns the next structural's offset and byte (0 at the end).
func (pl *fastPlan) next() (int, byte) {
	p := pl.scan.nextPos()
	if p < 0 {
		return -1, 0
	}
	return p, pl.body[p]
}

// key reads a member name at the next structural and the colon after it.
func (pl *fastPlan) key() ([]byte, bool) {
	p, c := pl.next()
	if c != '"' {
		return nil, false
	}
	k, _, ok := stringAt(pl.body, p)
	if !ok {
		return nil, false
	}
	// Stage 1 skipped the string's bytes; the next structural must be ':'.
	if _, c := pl.next(); c != ':' {
		return nil, false
	}
	return k, true
}

// passA checks the body against the grammar and measures its dense values.
func (pl *fastPlan) passA() bool {
	if _, c := pl.next(); c != '{' {
		return false
	}
	if pl.maxDepth < 1 {
		return false
	}
	for {
		k, ok := pl.key()
		if !ok {
			return false
		}
		switch string(k) {
		case "signature_name":
			if pl.hasSig {
				return false
			}
			p, c := pl.next()
			if c != '"' {
				return false
			}
			s, _, ok := stringAt(pl.body, p)
			if !ok {
				return false
			}
			pl.hasSig, pl.sigName = true, s
		case "instances":
			if pl.instances {
				return false
			}
			pl.instances = true
			p, c := pl.next()
			if c != '[' || !pl.dense(p, nil, 1) {
				return false
			}
		case "inputs":
			if pl.inputs {
				return false
			}
			pl.inputs = true
			p, c := pl.next()
			if c != '{' {
				if !pl.dense(p, nil, 1) {
					return false
				}
				break
			}
			pl.inputsObj = true
			if pl.maxDepth < 2 {
				return false
			}
			for {
				name, ok := pl.key()
				if !ok {
					return false
				}
				for i := range pl.nvalues {
					if bytes.Equal(pl.values[i].key, name) {
						return false
					}
				}
				p, _ := pl.next()
				if p < 0 || !pl.dense(p, name, 2) {
					return false
				}
				_, c := pl.next()
				if c == '}' {
					break
				}
				if c != ',' {
					return false
				}
			}
		default:
			return false
		}
		_, c := pl.next()
		if c == '}' {
			return true
		}
		if c != ',' {
			return false
		}
	}
}

// isNumberStart reports whether c may start a number token (rapidjson also
// takes NaN and Infinity).
func isNumberStart(c byte) bool {
	return isDigit(c) || c == '-' || c == 'N' || c == 'I'
}

// dense measures the dense value whose first structural is at p, nested in
// depth containers already, and records it under key.
func (pl *fastPlan) dense(p int, key []byte, depth int) bool {
	if pl.nvalues == fastMaxInputs || p < 0 {
		return false
	}
	v := &pl.values[pl.nvalues]
	v.key, v.start = key, p
	c := pl.body[p]
	if c != '[' {
		if !isNumberStart(c) {
			return false
		}
		v.rank, v.n = 0, 1
		pl.nvalues++
		return true
	}
	// Walk the lists: level is the number of open lists, count[l] the
	// elements seen so far in the open list at level l. The size of level l,
	// v.shape[l], is set by the first list closed at that level (0 until
	// then; empty lists are refused), which is the first one opened there:
	// the one on the path of first elements, as in GetDenseTensorShape.
	var count [fastMaxRank]int
	level, rank := 0, -1
	var leaves int64
	for {
		// c at p starts a value.
		if level > 0 {
			count[level-1]++
		}
		if c == '[' {
			if (rank >= 0 && level >= rank) || level == fastMaxRank || depth+level+1 > pl.maxDepth {
				return false
			}
			count[level] = 0
			level++
			p, c = pl.next()
			if c == ']' {
				return false // empty list
			}
			continue
		}
		if !isNumberStart(c) {
			return false
		}
		if rank < 0 {
			rank = level
		} else if level != rank {
			return false
		}
		leaves++
		// After a value: ',' then a value, or ']' closing a list.
		for {
			p, c = pl.next()
			if c == ',' {
				p, c = pl.next()
				if p < 0 {
					return false
				}
				break
			}
			if c != ']' {
				return false
			}
			level--
			if v.shape[level] == 0 {
				v.shape[level] = count[level]
			} else if count[level] != v.shape[level] {
				return false
			}
			if level == 0 {
				if n := limits.Elements(dims64(v.shape[:rank])); n != leaves {
					return false // cannot happen for a dense value
				}
				v.rank, v.n = rank, leaves
				pl.nvalues++
				return true
			}
		}
	}
}

// fillDense allocates v's tensor and parses its numbers into it (pass B).
// Pass A has checked the structure, so between numbers there are only
// brackets, commas and whitespace.
func fillDense(body []byte, v *denseValue, dt tensor.DType) (*tensor.Tensor, bool) {
	n := int(v.n)
	var data any
	p := v.start
	switch dt {
	case tensor.Float32:
		out := make([]float32, n)
		for i := range out {
			var r numResult
			var ok bool
			if r, p, ok = nextNumber(body, p); !ok {
				return nil, false
			}
			out[i] = float32(r.double())
		}
		data = out
	case tensor.Float64:
		out := make([]float64, n)
		for i := range out {
			var r numResult
			var ok bool
			if r, p, ok = nextNumber(body, p); !ok {
				return nil, false
			}
			out[i] = r.double()
		}
		data = out
	case tensor.Int32:
		out := make([]int32, n)
		for i := range out {
			var r numResult
			var ok bool
			if r, p, ok = nextNumber(body, p); !ok || r.flags&fInt == 0 {
				return nil, false
			}
			out[i] = int32(r.v)
		}
		data = out
	case tensor.Int64:
		out := make([]int64, n)
		for i := range out {
			var r numResult
			var ok bool
			if r, p, ok = nextNumber(body, p); !ok || r.flags&fInt64 == 0 {
				return nil, false
			}
			out[i] = int64(r.v)
		}
		data = out
	default:
		return nil, false
	}
	return &tensor.Tensor{DType: dt, Shape: v.shapeOf(), Data: data}, true
}

// nextNumber skips brackets, commas and whitespace from p, parses the
// number there and checks that the token ends with it.
func nextNumber(b []byte, p int) (numResult, int, bool) {
	for p < len(b) {
		switch b[p] {
		case '[', ']', ',', ' ', '\n', '\r', '\t':
			p++
			continue
		}
		break
	}
	r, e, ok := scanNumber(b, p)
	if !ok || e >= len(b) {
		return r, e, false
	}
	switch b[e] {
	case ']', ',', '}', ' ', '\n', '\r', '\t':
		return r, e, true
	}
	return r, e, false
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
