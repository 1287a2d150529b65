package gorgonia

import (
	"testing"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/tensor"
)

// TestSliceBoundsDoNotCollide: gorgonia hashes slice bounds as bytes, so
// x[0:10] and x[256:266] would be merged into one node; sliceAxis must keep
// them apart.
func TestSliceBoundsDoNotCollide(t *testing.T) {
	lw := newLowerer(graph.NewSession(nil, nil), Options{})
	data := make([]float32, 600)
	for i := range data {
		data[i] = float32(i)
	}
	x, err := lw.node(&value{c: tensor.FromSlice(tensor.Shape{2, 300}, data)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := lw.sliceAxis(x, 1, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, err := lw.sliceAxis(x, 1, 256, 266)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := G.Concat(1, a, b)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(lw.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	d := sum.Value().(*gt.Dense)
	if d.IsMaterializable() {
		d = d.Materialize().(*gt.Dense)
	}
	got := d.Data().([]float32)
	for r := 0; r < 2; r++ {
		for j := 0; j < 10; j++ {
			if w := float32(r*300 + j); got[r*20+j] != w {
				t.Fatalf("row %d col %d: got %v want %v", r, j, got[r*20+j], w)
			}
			if w := float32(r*300 + 256 + j); got[r*20+10+j] != w {
				t.Fatalf("row %d col %d: got %v want %v", r, 10+j, got[r*20+10+j], w)
			}
		}
	}
}

// TestBroadcastShapes checks NumPy broadcasting against hand-computed sums.
func TestBroadcastShapes(t *testing.T) {
	lw := newLowerer(graph.NewSession(nil, nil), Options{})
	a := &value{c: tensor.FromSlice(tensor.Shape{2, 1}, []float32{1, 2})}
	b := &value{c: tensor.FromSlice(tensor.Shape{3}, []float32{10, 20, 30})}
	r, err := lw.binary(binAdd, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.shape.Equal(tensor.Shape{2, 3}) {
		t.Fatalf("shape %v", r.shape)
	}
	vm := G.NewTapeMachine(lw.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out, err := fromValue(r.n.Value(), tensor.Float32, r.shape)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{11, 21, 31, 12, 22, 32}
	for i, v := range out.F32() {
		if v != want[i] {
			t.Fatalf("got %v want %v", out.F32(), want)
		}
	}
}
