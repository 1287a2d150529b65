package gorgonia_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// TestShapeLimit: beyond MaxShapes distinct input shapes, requests get
// RESOURCE_EXHAUSTED instead of lowering (and keeping) yet another graph.
func TestShapeLimit(t *testing.T) {
	dir := filepath.Join(fixtures.Dir(t), "tfjs/saved_model/times_three_float")
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gm, err := gorgonia.New(m, gorgonia.Options{MaxShapes: 2})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for n := 1; n <= 4; n++ {
		x := tensor.New(tensor.Float32, tensor.Shape{n})
		_, last = gm.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": x}, nil)
	}
	if status.CodeOf(last) != status.ResourceExhausted {
		t.Fatalf("fourth distinct shape: got %v, want RESOURCE_EXHAUSTED", last)
	}
}
