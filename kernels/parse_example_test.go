package kernels

import (
	"math"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/tensor"
	"google.golang.org/protobuf/encoding/protowire"
)

// exFeature is a test-side description of one feature to encode.
type exFeature struct {
	floats []float32
	ints   []int64
	bytes  []string
	packed bool
}

// encodeExample writes a tf.Example in protobuf wire format, field by field.
func encodeExample(features map[string]exFeature, order ...string) []byte {
	var fs []byte
	for _, k := range order {
		f := features[k]
		var list []byte
		var kind protowire.Number
		switch {
		case f.floats != nil:
			kind = 2
			if f.packed {
				var p []byte
				for _, v := range f.floats {
					p = protowire.AppendFixed32(p, math.Float32bits(v))
				}
				list = protowire.AppendTag(list, 1, protowire.BytesType)
				list = protowire.AppendBytes(list, p)
			} else {
				for _, v := range f.floats {
					list = protowire.AppendTag(list, 1, protowire.Fixed32Type)
					list = protowire.AppendFixed32(list, math.Float32bits(v))
				}
			}
		case f.ints != nil:
			kind = 3
			if f.packed {
				var p []byte
				for _, v := range f.ints {
					p = protowire.AppendVarint(p, uint64(v))
				}
				list = protowire.AppendTag(list, 1, protowire.BytesType)
				list = protowire.AppendBytes(list, p)
			} else {
				for _, v := range f.ints {
					list = protowire.AppendTag(list, 1, protowire.VarintType)
					list = protowire.AppendVarint(list, uint64(v))
				}
			}
		default:
			kind = 1
			for _, v := range f.bytes {
				list = protowire.AppendTag(list, 1, protowire.BytesType)
				list = protowire.AppendString(list, v)
			}
		}
		var feat []byte
		feat = protowire.AppendTag(feat, kind, protowire.BytesType)
		feat = protowire.AppendBytes(feat, list)
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendString(entry, k)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendBytes(entry, feat)
		fs = protowire.AppendTag(fs, 1, protowire.BytesType)
		fs = protowire.AppendBytes(fs, entry)
	}
	var ex []byte
	ex = protowire.AppendTag(ex, 1, protowire.BytesType)
	ex = protowire.AppendBytes(ex, fs)
	return ex
}

func v2Attrs(dense []tensor.DType, shapes []tensor.Shape, sparse []tensor.DType, ragged []tensor.DType) Attrs {
	splits := make([]tensor.DType, len(ragged))
	for i := range splits {
		splits[i] = tensor.Int64
	}
	return Attrs{"Tdense": dense, "dense_shapes": shapes, "num_sparse": int64(len(sparse)), "sparse_types": sparse,
		"ragged_value_types": ragged, "ragged_split_types": splits}
}

func TestParseExampleV2Dense(t *testing.T) {
	e1 := encodeExample(map[string]exFeature{
		"x":    {floats: []float32{1.5}},
		"ids":  {ints: []int64{7, -3}, packed: true},
		"name": {bytes: []string{"alice"}},
	}, "x", "ids", "name")
	e2 := encodeExample(map[string]exFeature{
		"x":     {floats: []float32{-2}, packed: true},
		"other": {bytes: []string{"ignored"}},
		"ids":   {ints: []int64{1, 2}},
	}, "other", "ids", "x")
	ser := strs(sh(2), string(e1), string(e2))
	attrs := v2Attrs([]tensor.DType{tensor.Float32, tensor.Int64, tensor.String}, []tensor.Shape{sh(1), sh(2), sh()}, nil, nil)
	out := mustRun(t, "ParseExampleV2", attrs, ser, strs(sh(0)), strs(sh(0)), strs(sh(3), "x", "ids", "name"), strs(sh(0)),
		f32(sh(1), 0), i64(sh(0)), strs(sh(), "nobody"))
	if len(out) != 3 {
		t.Fatalf("%d outputs", len(out))
	}
	wantTensor(t, out[0], f32(sh(2, 1), 1.5, -2))
	wantTensor(t, out[1], i64(sh(2, 2), 7, -3, 1, 2))
	wantTensor(t, out[2], strs(sh(2), "alice", "nobody"))

	// A missing required feature (empty default) is an error naming it.
	_, err := runOp(t, "ParseExampleV2", attrs, strs(sh(1), string(encodeExample(map[string]exFeature{"x": {floats: []float32{1}}}, "x"))),
		strs(sh(0)), strs(sh(0)), strs(sh(3), "x", "ids", "name"), strs(sh(0)), f32(sh(1), 0), i64(sh(0)), strs(sh(), ""))
	if err == nil || !strings.Contains(err.Error(), "Feature: ids (data type: int64) is required but could not be found") {
		t.Fatalf("missing feature error: %v", err)
	}
	// Wrong count and wrong type.
	one := v2Attrs([]tensor.DType{tensor.Float32}, []tensor.Shape{sh(1)}, nil, nil)
	two := strs(sh(1), string(encodeExample(map[string]exFeature{"x": {floats: []float32{1, 2}}}, "x")))
	mustFail(t, "ParseExampleV2", one, "Number of float values != expected.  Values size: 2 but output shape: [1]",
		two, strs(sh(0)), strs(sh(0)), strs(sh(1), "x"), strs(sh(0)), f32(sh(1), 0))
	ints := strs(sh(1), string(encodeExample(map[string]exFeature{"x": {ints: []int64{1}}}, "x")))
	mustFail(t, "ParseExampleV2", one, "Data types don't match", ints, strs(sh(0)), strs(sh(0)), strs(sh(1), "x"), strs(sh(0)), f32(sh(1), 0))
	mustFail(t, "ParseExampleV2", one, "Could not parse example input", strs(sh(1), "\xff\xff"), strs(sh(0)), strs(sh(0)), strs(sh(1), "x"), strs(sh(0)), f32(sh(1), 0))
	// Scalar serialized input gives outputs without the batch dim.
	out = mustRun(t, "ParseExampleV2", one, strs(sh(), string(e1)), strs(sh(0)), strs(sh(0)), strs(sh(1), "x"), strs(sh(0)), f32(sh(1), 0))
	wantTensor(t, out[0], f32(sh(1), 1.5))
	// An empty serialized example uses the defaults.
	out = mustRun(t, "ParseExampleV2", one, strs(sh(2), "", string(e2)), strs(sh(0)), strs(sh(0)), strs(sh(1), "x"), strs(sh(0)), f32(sh(1), 9))
	wantTensor(t, out[0], f32(sh(2, 1), 9, -2))
}

func TestParseExampleVarLenSparseRagged(t *testing.T) {
	e1 := encodeExample(map[string]exFeature{"v": {ints: []int64{1, 2, 3}}, "s": {bytes: []string{"a", "b"}}}, "v", "s")
	e2 := encodeExample(map[string]exFeature{"v": {ints: []int64{4}}}, "v")
	ser := strs(sh(2), string(e1), string(e2))
	// Variable-length dense: [-1] padded with the default.
	attrs := v2Attrs([]tensor.DType{tensor.Int64}, []tensor.Shape{sh(-1)}, []tensor.DType{tensor.String}, []tensor.DType{tensor.Int64})
	out := mustRun(t, "ParseExampleV2", attrs, ser, strs(sh(0)), strs(sh(1), "s"), strs(sh(1), "v"), strs(sh(1), "v"), i64(sh(), -1))
	// Outputs: sparse_indices, sparse_values, sparse_shapes, dense, ragged_values, ragged_splits.
	if len(out) != 6 {
		t.Fatalf("%d outputs", len(out))
	}
	wantTensor(t, out[0], i64(sh(2, 2), 0, 0, 0, 1))
	wantTensor(t, out[1], strs(sh(2), "a", "b"))
	wantTensor(t, out[2], i64(sh(2), 2, 2))
	wantTensor(t, out[3], i64(sh(2, 3), 1, 2, 3, 4, -1, -1))
	wantTensor(t, out[4], i64(sh(4), 1, 2, 3, 4))
	wantTensor(t, out[5], i64(sh(3), 0, 3, 4))
}

func TestParseExampleV1(t *testing.T) {
	// The TF Serving half_plus_two classify/regress layout: one dense float "x" of shape [1].
	ser := strs(sh(3),
		string(encodeExample(map[string]exFeature{"x": {floats: []float32{2}}}, "x")),
		string(encodeExample(map[string]exFeature{"x": {floats: []float32{4}, packed: true}}, "x")),
		string(encodeExample(map[string]exFeature{"y": {floats: []float32{9}}}, "y")))
	attrs := Attrs{"Nsparse": int64(0), "Ndense": int64(1), "sparse_types": []tensor.DType{}, "Tdense": []tensor.DType{tensor.Float32},
		"dense_shapes": []tensor.Shape{sh(1)}}
	out := mustRun(t, "ParseExample", attrs, ser, strs(sh(0)), strs(sh(), "x"), f32(sh(1), -1))
	wantTensor(t, out[0], f32(sh(3, 1), 2, 4, -1))
	mustFail(t, "ParseExample", attrs, "Expected serialized to be a vector", strs(sh(), "x"), strs(sh(0)), strs(sh(), "x"), f32(sh(1), -1))
	// Build-time input count check.
	if b, _ := Lookup("ParseExample"); b != nil {
		if _, err := b(attrs, 3); err == nil {
			t.Fatal("wrong input count must fail at build time")
		}
	}
}

func FuzzParseExample(f *testing.F) {
	f.Add(encodeExample(map[string]exFeature{"x": {floats: []float32{1}}}, "x"))
	f.Add(encodeExample(map[string]exFeature{"x": {ints: []int64{1, 2}, packed: true}, "s": {bytes: []string{"a"}}}, "x", "s"))
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0x78})
	f.Add([]byte{})
	attrs := v2Attrs([]tensor.DType{tensor.Float32, tensor.Int64}, []tensor.Shape{sh(1), sh(-1)},
		[]tensor.DType{tensor.String}, []tensor.DType{tensor.Float32})
	b, _ := Lookup("ParseExampleV2")
	fn, err := b(attrs, 7)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := []*tensor.Tensor{strs(sh(2), string(data), ""), strs(sh(0)), strs(sh(1), "s"), strs(sh(2), "x", "y"),
			strs(sh(1), "r"), f32(sh(1), 0), i64(sh(), 0)}
		out, err := fn(&Context{}, in)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic: %v", err)
			}
			return
		}
		if len(out) != 7 || !out[3].Shape.Equal(sh(2, 1)) || out[4].Shape[0] != 2 || !out[6].Shape.Equal(sh(3)) {
			t.Fatalf("bad outputs %v", out)
		}
		for _, o := range out {
			if err := checkData("out", []*tensor.Tensor{o}); err != nil {
				t.Fatal(err)
			}
		}
	})
}
