package kernels

import (
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestDecodeExampleMergeSemantics(t *testing.T) {
	// Two Features messages merge; a repeated key keeps its last value; a
	// second list of the same kind appends.
	a := encodeExample(map[string]exFeature{"k": {floats: []float32{1}}}, "k")
	b := encodeExample(map[string]exFeature{"k": {floats: []float32{2, 3}}}, "k")
	want := map[string][]int{"k": {0}}
	found := make([]exampleFeature, 1)
	seen := make([]bool, 1)
	if err := decodeExample(append(a, b...), want, found, seen); err != nil {
		t.Fatal(err)
	}
	if !seen[0] || len(found[0].floats) != 2 || found[0].floats[0] != 2 {
		t.Fatalf("merge: %+v", found[0])
	}
	// Feature with float_list twice: values concatenate.
	var feat []byte
	for _, v := range []float32{5, 6} {
		var list []byte
		list = protowire.AppendTag(list, 1, protowire.Fixed32Type)
		list = protowire.AppendFixed32(list, math.Float32bits(v))
		feat = protowire.AppendTag(feat, 2, protowire.BytesType)
		feat = protowire.AppendBytes(feat, list)
	}
	var f exampleFeature
	if err := decodeFeature(feat, &f); err != nil || len(f.floats) != 2 || f.floats[1] != 6 {
		t.Fatalf("list merge: %+v %v", f, err)
	}
}
