package kernels

import (
	"github.com/tfserve/tfserve/tensor"
)

// exampleSpec is the decoded configuration of a ParseExample node.
type exampleSpec struct {
	op           string
	v2           bool
	numSparse    int
	sparseTypes  []tensor.DType
	denseTypes   []tensor.DType
	denseShapes  []tensor.Shape
	raggedTypes  []tensor.DType
	raggedSplits []tensor.DType
}

func (s *exampleSpec) numInputs() int {
	if s.v2 {
		return 5 + len(s.denseTypes)
	}
	return 2 + s.numSparse + 2*len(s.denseTypes)
}

func parseExampleBuilder(op string) Builder {
	return func(attrs Attrs, n int) (Func, error) {
		s := &exampleSpec{op: op, v2: op == "ParseExampleV2"}
		s.denseTypes, _ = attrs["Tdense"].([]tensor.DType)
		s.sparseTypes, _ = attrs["sparse_types"].([]tensor.DType)
		s.denseShapes, _ = attrs["dense_shapes"].([]tensor.Shape)
		if s.v2 {
			s.numSparse = int(attrs.Int("num_sparse", 0))
			s.raggedTypes, _ = attrs["ragged_value_types"].([]tensor.DType)
			s.raggedSplits, _ = attrs["ragged_split_types"].([]tensor.DType)
			if len(s.raggedTypes) != len(s.raggedSplits) {
				return nil, buildErr(op, "ragged_value_types and ragged_split_types must have the same length")
			}
		} else {
			s.numSparse = int(attrs.Int("Nsparse", int64(len(s.sparseTypes))))
			if nd := attrs.Int("Ndense", int64(len(s.denseTypes))); nd != int64(len(s.denseTypes)) {
				return nil, buildErr(op, "Ndense %d does not match len(Tdense) %d", nd, len(s.denseTypes))
			}
		}
		if s.numSparse != len(s.sparseTypes) {
			return nil, buildErr(op, "num_sparse %d does not match len(sparse_types) %d", s.numSparse, len(s.sparseTypes))
		}
		if len(s.denseShapes) != len(s.denseTypes) {
			return nil, buildErr(op, "len(dense_shapes) %d != len(Tdense) %d", len(s.denseShapes), len(s.denseTypes))
		}
		for i, sh := range s.denseShapes {
			if sh == nil {
				return nil, buildErr(op, "dense_shapes[%d] must have a known rank", i)
			}
			for j, d := range sh {
				if d < 0 && j != 0 {
					return nil, buildErr(op, "dense_shapes[%d] = %v: only the first dimension may be unknown", i, sh)
				}
			}
		}
		for _, list := range [][]tensor.DType{s.denseTypes, s.sparseTypes, s.raggedTypes} {
			for _, dt := range list {
				if kindOf(dt) == kindNone {
					return nil, buildErr(op, "unsupported feature type %v (want float, int64 or string)", dt)
				}
			}
		}
		for _, dt := range s.raggedSplits {
			if dt != tensor.Int32 && dt != tensor.Int64 {
				return nil, buildErr(op, "ragged_split_types must be int32 or int64, got %v", dt)
			}
		}
		if n != s.numInputs() {
			return nil, buildErr(op, "expects %d inputs, node has %d", s.numInputs(), n)
		}
		return func(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return s.run(ctx, in)
		}, nil
	}
}

// keysFrom collects feature names from either scalar inputs (v1) or one vector (v2).
func keysFrom(op string, ts []*tensor.Tensor) ([]string, error) {
	var keys []string
	for _, t := range ts {
		s, err := stringInput(op, t, "keys")
		if err != nil {
			return nil, err
		}
		keys = append(keys, s...)
	}
	return keys, nil
}

func (s *exampleSpec) run(ctx *Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	op := s.op
	if err := checkInputs(op, in, s.numInputs()); err != nil {
		return nil, err
	}
	ser, err := stringInput(op, in[0], "serialized")
	if err != nil {
		return nil, err
	}
	if len(in[0].Shape) > 1 || (!s.v2 && len(in[0].Shape) != 1) {
		return nil, Errorf("Expected serialized to be a vector, got shape: %v", in[0].Shape)
	}
	names, _ := stringInput(op, in[1], "names")
	k, err := s.keys(in)
	if err != nil {
		return nil, err
	}
	if err := s.checkDefaults(k); err != nil {
		return nil, err
	}
	feats, seen, err := decodeBatch(ser, k.slots(), len(k.dense)+len(k.sparse)+len(k.ragged))
	if err != nil {
		return nil, err
	}
	exName := func(e int) string {
		if e < len(names) && names[e] != "" {
			return names[e]
		}
		return "<unknown>"
	}
	prefix := tensor.Shape(in[0].Shape).Clone() // [] or [B]
	var dense []*tensor.Tensor
	for i := range k.dense {
		t, err := s.denseOutput(ctx, i, k.dense[i], k.defaults[i], feats, seen, prefix, exName)
		if err != nil {
			return nil, err
		}
		dense = append(dense, t)
	}
	var spIdx, spVal, spShape []*tensor.Tensor
	for i := range k.sparse {
		slot := len(s.denseTypes) + i
		ix, v, sh, err := s.sparseOutput(ctx, slot, k.sparse[i], s.sparseTypes[i], feats, seen, len(prefix) == 0, exName)
		if err != nil {
			return nil, err
		}
		spIdx, spVal, spShape = append(spIdx, ix), append(spVal, v), append(spShape, sh)
	}
	rgVal, rgSplit, err := s.raggedOutputs(ctx, k.ragged, feats, seen, len(prefix) == 0, exName)
	if err != nil {
		return nil, err
	}
	out := append(append(append(spIdx, spVal...), spShape...), dense...)
	return append(append(out, rgVal...), rgSplit...), nil
}

// exampleKeys are the feature keys and dense defaults of one ParseExample call.
type exampleKeys struct {
	sparse, dense, ragged []string
	defaults              []*tensor.Tensor
}

// keys reads the feature keys and dense defaults from a call's inputs and
// checks that their counts match the node's attributes.
func (s *exampleSpec) keys(in []*tensor.Tensor) (*exampleKeys, error) {
	op, nd := s.op, len(s.denseTypes)
	k := &exampleKeys{}
	var err error
	if s.v2 {
		if k.sparse, err = keysFrom(op, in[2:3]); err == nil {
			if k.dense, err = keysFrom(op, in[3:4]); err == nil {
				k.ragged, err = keysFrom(op, in[4:5])
			}
		}
		k.defaults = in[5:]
	} else {
		if k.sparse, err = keysFrom(op, in[2:2+s.numSparse]); err == nil {
			k.dense, err = keysFrom(op, in[2+s.numSparse:2+s.numSparse+nd])
		}
		k.defaults = in[2+s.numSparse+nd:]
	}
	if err != nil {
		return nil, err
	}
	if len(k.sparse) != s.numSparse || len(k.dense) != nd || len(k.ragged) != len(s.raggedTypes) {
		return nil, Errorf("%s: expected %d sparse, %d dense and %d ragged keys, got %d, %d and %d", op,
			s.numSparse, nd, len(s.raggedTypes), len(k.sparse), len(k.dense), len(k.ragged))
	}
	return k, nil
}

// slots maps each key to its output slots: dense first, then sparse, then ragged.
func (k *exampleKeys) slots() map[string][]int {
	all := append(append(append([]string(nil), k.dense...), k.sparse...), k.ragged...)
	want := make(map[string][]int, len(all))
	for i, key := range all {
		want[key] = append(want[key], i)
	}
	return want
}

// checkDefaults checks each dense default's type and size against the
// node's dense_types and dense_shapes.
func (s *exampleSpec) checkDefaults(k *exampleKeys) error {
	for i, d := range k.defaults {
		if d.DType != s.denseTypes[i] {
			return Errorf("dense_defaults[%d] has type %v, expected %v", i, d.DType, s.denseTypes[i])
		}
		sh := s.denseShapes[i]
		if len(sh) > 0 && sh[0] < 0 {
			if d.Len() > 1 {
				return Errorf("For key: %s, dense_defaults[%d] must be a scalar or empty for a variable-length feature, got shape %v", k.dense[i], i, d.Shape)
			}
		} else if d.Len() != 0 && d.Len() != sh.NumElements() {
			return Errorf("dense_shape[%d] %v and dense_defaults[%d] %v do not match", i, sh, i, d.Shape)
		}
	}
	return nil
}

// decodeBatch decodes each serialized Example, keeping the wanted features
// in slots slots per example.
func decodeBatch(ser []string, want map[string][]int, slots int) ([][]exampleFeature, [][]bool, error) {
	feats := make([][]exampleFeature, len(ser))
	seen := make([][]bool, len(ser))
	for e, b := range ser {
		feats[e] = make([]exampleFeature, slots)
		seen[e] = make([]bool, slots)
		if err := decodeExample([]byte(b), want, feats[e], seen[e]); err != nil {
			return nil, nil, Errorf("Could not parse example input, value: '%s'", truncate(b, 64))
		}
	}
	return feats, seen, nil
}

// raggedOutputs returns the values and the row splits of each ragged feature.
func (s *exampleSpec) raggedOutputs(ctx *Context, keys []string, feats [][]exampleFeature, seen [][]bool,
	scalar bool, exName func(int) string) (vals, splits []*tensor.Tensor, err error) {
	batch := len(feats)
	for i := range keys {
		slot := len(s.denseTypes) + s.numSparse + i
		_, v, _, err := s.sparseOutput(ctx, slot, keys[i], s.raggedTypes[i], feats, seen, scalar, exName)
		if err != nil {
			return nil, nil, err
		}
		rows := make([]int, batch+1)
		for e := range feats {
			n := 0
			if seen[e][slot] {
				n = feats[e][slot].count()
			}
			rows[e+1] = rows[e] + n
		}
		st, err := intTensor(ctx, s.raggedSplits[i], tensor.Shape{batch + 1}, rows)
		if err != nil {
			return nil, nil, err
		}
		vals, splits = append(vals, v), append(splits, st)
	}
	return vals, splits, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// copyFeature writes a feature's values into out.Data at offset.
func copyFeature(out *tensor.Tensor, off int, f *exampleFeature) {
	switch d := out.Data.(type) {
	case []float32:
		copy(d[off:], f.floats)
	case []int64:
		copy(d[off:], f.ints)
	case []string:
		copy(d[off:], f.bytes)
	}
}

func (s *exampleSpec) denseOutput(ctx *Context, i int, key string, def *tensor.Tensor, feats [][]exampleFeature,
	seen [][]bool, prefix tensor.Shape, exName func(int) string) (*tensor.Tensor, error) {
	dt, sh := s.denseTypes[i], s.denseShapes[i]
	kind := kindOf(dt)
	varLen := len(sh) > 0 && sh[0] < 0
	stride := prod(sh, 1, len(sh))
	if !varLen {
		stride = sh.NumElements()
	}
	// Validate and measure.
	maxRows := 0
	for e := range feats {
		f := &feats[e][i]
		present := seen[e][i] && f.kind != kindNone
		if !present {
			if !varLen && def.Len() == 0 {
				return nil, Errorf("Name: %s, Feature: %s (data type: %s) is required but could not be found.", exName(e), key, kindName(kind))
			}
			continue
		}
		if f.kind != kind {
			return nil, Errorf("Name: %s, Key: %s, Index: %d.  Data types don't match. Data type: %s but expected type: %s", exName(e), key, e, kindName(f.kind), kindName(kind))
		}
		n := f.count()
		if varLen {
			if stride == 0 || n%stride != 0 {
				return nil, Errorf("Name: %s, Key: %s, Index: %d.  Number of %s values is not a multiple of stride length. Saw %d values but output shape is: %v", exName(e), key, e, kindName(kind), n, sh)
			}
			maxRows = max(maxRows, n/stride)
		} else if n != stride {
			return nil, Errorf("Name: %s, Key: %s, Index: %d.  Number of %s values != expected.  Values size: %d but output shape: %v", exName(e), key, e, kindName(kind), n, sh)
		}
	}
	es := sh.Clone()
	if varLen {
		es[0] = maxRows
	}
	os := append(prefix.Clone(), es...)
	if err := checkSize(s.op, os); err != nil {
		return nil, err
	}
	out := ctx.New(dt, os)
	per := es.NumElements()
	mv := moverOf(out.Data)
	for e := range feats {
		f := &feats[e][i]
		off := e * per
		if seen[e][i] && f.kind != kindNone {
			copyFeature(out, off, f)
			if varLen && def.Len() == 1 {
				mv.fill(out.Data, off+f.count(), off+per, def.Data, 0)
			}
			continue
		}
		switch {
		case varLen && def.Len() == 1:
			mv.fill(out.Data, off, off+per, def.Data, 0)
		case !varLen && per > 0:
			mv.copyRun(out.Data, off, def.Data, 0, per)
		}
	}
	return out, nil
}

func (s *exampleSpec) sparseOutput(ctx *Context, slot int, key string, dt tensor.DType, feats [][]exampleFeature,
	seen [][]bool, scalar bool, exName func(int) string) (idx, vals, shape *tensor.Tensor, err error) {
	kind := kindOf(dt)
	total, maxLen := 0, 0
	for e := range feats {
		f := &feats[e][slot]
		if !seen[e][slot] || f.kind == kindNone {
			continue
		}
		if f.kind != kind {
			return nil, nil, nil, Errorf("Name: %s, Key: %s, Index: %d.  Data types don't match. Data type: %s but expected type: %s", exName(e), key, e, kindName(f.kind), kindName(kind))
		}
		total += f.count()
		maxLen = max(maxLen, f.count())
	}
	rank := 2
	if scalar {
		rank = 1
	}
	idx = ctx.New(tensor.Int64, tensor.Shape{total, rank})
	vals = ctx.New(dt, tensor.Shape{total})
	shape = ctx.New(tensor.Int64, tensor.Shape{rank})
	ix := idx.I64()
	k := 0
	for e := range feats {
		f := &feats[e][slot]
		if !seen[e][slot] || f.kind == kindNone {
			continue
		}
		copyFeature(vals, k, f)
		for j := 0; j < f.count(); j++ {
			if scalar {
				ix[k] = int64(j)
			} else {
				ix[2*k], ix[2*k+1] = int64(e), int64(j)
			}
			k++
		}
	}
	if scalar {
		shape.I64()[0] = int64(maxLen)
	} else {
		shape.I64()[0], shape.I64()[1] = int64(len(feats)), int64(maxLen)
	}
	return idx, vals, shape, nil
}
