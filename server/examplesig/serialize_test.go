package examplesig

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
)

func TestMergedBytes(t *testing.T) {
	cases := []struct{ n, ctx, ex, want int64 }{
		{300, 1 << 20, 0, 300 * (1<<20 + 16)},
		{2, 0, 10, 2*16 + 10},
		{0, 5, 0, 0},
		{math.MaxInt64 / 2, 100, 0, math.MaxInt64},
		{3, math.MaxInt64, 0, math.MaxInt64},
		{1, 10, math.MaxInt64 - 20, math.MaxInt64},
		{-1, 0, 0, math.MaxInt64},
	}
	for _, c := range cases {
		if got := MergedBytes(c.n, c.ctx, c.ex); got != c.want {
			t.Errorf("MergedBytes(%d, %d, %d) = %d, want %d", c.n, c.ctx, c.ex, got, c.want)
		}
	}
}

func floatExample(k string, v float32) *tfpb.Example {
	return &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
		k: {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{v}}}}}}}
}

func TestSerialize(t *testing.T) {
	ctx := floatExample("c", 1)
	exs := []*tfpb.Example{floatExample("x", 2), floatExample("x", 3)}
	in := &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
		Examples: exs, Context: ctx}}}
	var charged [2]int64
	out, err := Serialize(in, func(e, b int64) error { charged = [2]int64{e, b}; return nil })
	if err != nil {
		t.Fatal(err)
	}
	opts := proto.MarshalOptions{Deterministic: true}
	cb, _ := opts.Marshal(ctx)
	var total int64
	for i, e := range exs {
		eb, _ := opts.Marshal(e)
		if out[i] != string(cb)+string(eb) {
			t.Errorf("example %d: %x", i, out[i])
		}
		// Parsing the merged bytes as one Example merges the context in.
		var back tfpb.Example
		if err := proto.Unmarshal([]byte(out[i]), &back); err != nil || len(back.Features.Feature) != 2 {
			t.Errorf("example %d does not parse as context + example: %v %v", i, &back, err)
		}
		total += int64(len(out[i]))
	}
	if charged != [2]int64{2, total + 2*StringHeader} {
		t.Errorf("charged %v, want [2 %d]", charged, total+2*StringHeader)
	}
	list := &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{Examples: exs}}}
	if out, err := Serialize(list, nil); err != nil || len(out) != 2 {
		t.Errorf("example list: %v %v", out, err)
	}
	for _, empty := range []*servingpb.Input{nil, {}, {Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{Context: ctx}}}} {
		if _, err := Serialize(empty, nil); status.CodeOf(err) != status.InvalidArgument || err.Error() == "" {
			t.Errorf("empty input: %v", err)
		}
	}
	// A budget's refusal comes back as is.
	b := limits.NewBudget(limits.Request{MaxBytes: 10})
	if _, err := Serialize(in, b.Take); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("over budget: %v", err)
	}
}
