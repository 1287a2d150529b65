package fuse_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// TestFusesStandardGRU checks that every CPU standard_gru function of the
// Keras GRU fixtures is rewritten, and that the GPU variants are not.
func TestFusesStandardGRU(t *testing.T) {
	fx := fixtures.Dir(t)
	for _, name := range []string{"christopher_stock", "beagle_music_genre", "underthestars_timeseries"} {
		im, err := loader.Import(filepath.Join(fx, "keras/gru", name, "1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		var standard int
		for fn := range im.Library {
			if strings.Contains(fn, "standard_gru") {
				standard++
			}
		}
		rep := fuse.Library(im.Library)
		if standard == 0 || len(rep.Fused) != standard {
			t.Errorf("%s: fused %d functions, the library has %d standard_gru functions (skipped: %v)", name, len(rep.Fused), standard, rep.Skipped)
		}
		for _, fn := range rep.Fused {
			if !strings.Contains(fn, "standard_gru") {
				t.Errorf("%s: fused %s, which is not a standard_gru", name, fn)
			}
			g := im.Library[fn]
			var n int
			for _, node := range g.Nodes {
				if node.Op == fuse.OpGRU {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %s has %d fused nodes", name, fn, n)
			}
		}
	}
}

// TestWrongInputWidth: a request whose feature width does not match the
// GRU kernel gets an InvalidArgument naming both widths, fused and unfused.
func TestWrongInputWidth(t *testing.T) {
	dir := filepath.Join(fixtures.Dir(t), "keras/gru/christopher_stock/1")
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.Float32, tensor.Shape{1, 14, 13})
	_, err = m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"input_2": x}, nil)
	if err == nil || !strings.Contains(err.Error(), "13 features") || !strings.Contains(err.Error(), "expects 6") {
		t.Fatalf("want an error naming widths 13 and 6, got %v", err)
	}
	if status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("code %v, want INVALID_ARGUMENT", status.CodeOf(err))
	}
}
