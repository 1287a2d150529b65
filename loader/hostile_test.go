package loader_test

import (
	"context"
	"testing"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/hostilemodels"
	"github.com/tfserve/tfserve/tensor"
)

// predictY loads dir and runs serving_default on x = [1, 2].
func predictY(t *testing.T, dir string, opts loader.Options) []float32 {
	t.Helper()
	m, err := loader.Load(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer m.Close()
	out, err := m.Run(context.Background(), "serving_default",
		map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{2}, []float32{1, 2})}, []string{"y"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return out["y"].Data.([]float32)
}

// TestHostileModelsSmall checks that the hostile generators write valid
// models: at small sizes they load and compute what they say.
func TestHostileModelsSmall(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(dir string) error
		want  []float32
	}{
		{"exponential", func(d string) error { return hostilemodels.ExponentialCalls(d, 4) }, []float32{1, 2}},
		{"deep", func(d string) error { return hostilemodels.DeepCalls(d, 10) }, []float32{1, 2}},
		{"padded", func(d string) error { return hostilemodels.PaddedConst(d, 10) }, []float32{11, 12}},
		{"fill", func(d string) error { return hostilemodels.FoldedFill(d, 100) }, []float32{101, 102}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.write(dir); err != nil {
				t.Fatal(err)
			}
			for _, o := range []loader.Options{{}, {DisableOptimization: true}} {
				got := predictY(t, dir, o)
				if len(got) != 2 || got[0] != c.want[0] || got[1] != c.want[1] {
					t.Fatalf("optimization %v: y = %v, want %v", !o.DisableOptimization, got, c.want)
				}
			}
		})
	}
}
