package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// TestDemoModelsLoadAndCompute writes every demo model and runs each of
// its signatures through the real loader.
func TestDemoModelsLoadAndCompute(t *testing.T) {
	root := t.TempDir()
	if err := demo.WriteAll(root); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		plus float32
	}{{"half_plus_two", 2}, {"half_plus_three", 3}} {
		m, err := loader.Load(ctx, filepath.Join(root, c.name, "00000123"), loader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{3}, []float32{1, 2, 5})}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range []float32{1, 2, 5} {
			if got := out["y"].F32()[i]; got != 0.5*x+c.plus {
				t.Errorf("%s(%v) = %v", c.name, x, got)
			}
		}
		var ser []string
		for _, x := range []float32{4, -2} {
			b, _ := proto.Marshal(&tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
				"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{x}}}}}}})
			ser = append(ser, string(b))
		}
		for _, sig := range []string{"regress_x_to_y", "classify_x_to_y"} {
			out, err := m.Run(ctx, sig, map[string]*tensor.Tensor{"inputs": tensor.FromSlice(tensor.Shape{2}, ser)}, nil)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, sig, err)
			}
			for _, v := range out {
				if got := v.F32(); len(got) != 2 || got[0] != 2+c.plus || got[1] != -1+c.plus {
					t.Errorf("%s %s: got %v", c.name, sig, got)
				}
			}
		}
	}
	m, err := loader.Load(ctx, filepath.Join(root, "add_mul_int64", "00000001"), loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{
		"a": tensor.FromSlice(tensor.Shape{2}, []int64{1, 2}), "b": tensor.FromSlice(tensor.Shape{2}, []int64{3, 4})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, p := out["sum"].I64(), out["product"].I64(); s[0] != 4 || s[1] != 6 || p[0] != 3 || p[1] != 8 {
		t.Errorf("add_mul: %v %v", s, p)
	}
}

// TestCommittedDemoModelsAreReproducible: testdata/models is exactly what
// the writer produces, so the bundled models are our own.
func TestCommittedDemoModelsAreReproducible(t *testing.T) {
	root := t.TempDir()
	if err := demo.WriteAll(root); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "testdata", "models")
	n := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil {
			return fmt.Errorf("testdata/models lacks %s (run go run ./cmd/mkmodels): %w", rel, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("testdata/models/%s differs from the writer's output (run go run ./cmd/mkmodels)", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Fatalf("only %d files compared", n)
	}
}
