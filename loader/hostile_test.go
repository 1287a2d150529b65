package loader_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/hostilemodels"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/servable/status"
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
		{"init", func(d string) error { return hostilemodels.HugeInitOp(d, 100) }, []float32{1, 2}},
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

// loadErr loads dir and returns the error, with the bytes the load
// allocated.
func loadErr(t *testing.T, dir string, opts loader.Options) (error, uint64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := loader.Load(context.Background(), dir, opts)
	runtime.ReadMemStats(&after)
	if m != nil {
		m.Close()
	}
	return err, after.TotalAlloc - before.TotalAlloc
}

// TestExponentialCallsFailFast: 40 levels of doubling calls (2^40 nodes
// inlined) fail on the node budget before anything is inlined, with or
// without optimization (unoptimized, the calls would expand at run time).
func TestExponentialCallsFailFast(t *testing.T) {
	dir := t.TempDir()
	if err := hostilemodels.ExponentialCalls(dir, 40); err != nil {
		t.Fatal(err)
	}
	for _, o := range []loader.Options{{}, {DisableOptimization: true}} {
		err, alloc := loadErr(t, dir, o)
		if err == nil || status.CodeOf(err) != status.InvalidArgument ||
			!strings.Contains(err.Error(), "needs 5497558138880, over the limit of 1048576 (--model_max_nodes)") {
			t.Fatalf("err = %v", err)
		}
		if alloc > 16<<20 {
			t.Fatalf("failed load allocated %d bytes", alloc)
		}
	}
	// A budget below a model's size fails it; the default serves it.
	small := t.TempDir()
	if err := hostilemodels.ExponentialCalls(small, 6); err != nil {
		t.Fatal(err)
	}
	err, _ := loadErr(t, small, loader.Options{Limits: limits.Load{MaxNodes: 100}})
	if err == nil || !strings.Contains(err.Error(), "over the limit of 100 (--model_max_nodes)") {
		t.Fatalf("MaxNodes 100: %v", err)
	}
	if got := predictY(t, small, loader.Options{}); got[0] != 1 || got[1] != 2 {
		t.Fatalf("6 levels: y = %v", got)
	}
}

func TestRecursionAndDepthFail(t *testing.T) {
	rec := t.TempDir()
	if err := hostilemodels.RecursiveCall(rec); err != nil {
		t.Fatal(err)
	}
	if err, _ := loadErr(t, rec, loader.Options{}); err == nil || !strings.Contains(err.Error(), "function f calls itself") {
		t.Fatalf("recursion: %v", err)
	}
	deep := t.TempDir()
	if err := hostilemodels.DeepCalls(deep, 10000); err != nil {
		t.Fatal(err)
	}
	if err, _ := loadErr(t, deep, loader.Options{}); err == nil || !strings.Contains(err.Error(), "nest more than 64 deep") {
		t.Fatalf("depth: %v", err)
	}
}

// TestPaddedConstFails: a Const declaring 2^28 floats (1 GiB) with one
// stored value fails on the constant budget without being allocated.
func TestPaddedConstFails(t *testing.T) {
	dir := t.TempDir()
	if err := hostilemodels.PaddedConst(dir, 1<<28); err != nil {
		t.Fatal(err)
	}
	err, alloc := loadErr(t, dir, loader.Options{Limits: limits.Load{MaxConstBytes: 256 << 20}})
	if err == nil || status.CodeOf(err) != status.InvalidArgument ||
		!strings.Contains(err.Error(), "needs 1073741824, over the limit of 268435456 (--model_max_const_bytes)") {
		t.Fatalf("err = %v", err)
	}
	if alloc > 16<<20 {
		t.Fatalf("failed load allocated %d bytes", alloc)
	}
}

// TestFoldedFillNotFolded: Fill([2^28], 1) depends only on constants; the
// fold would make 1 GiB, so it is left to run time and the load succeeds
// without allocating it.
func TestFoldedFillNotFolded(t *testing.T) {
	dir := t.TempDir()
	if err := hostilemodels.FoldedFill(dir, 1<<28); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
		t.Fatalf("load allocated %d bytes", d)
	}
	sp, _ := m.SignaturePlan("serving_default")
	if sp.Plan.Ops()["Fill"] != 1 {
		t.Fatalf("Fill folded away: plan ops %v", sp.Plan.Ops())
	}
	// Below the bound it folds.
	small := t.TempDir()
	if err := hostilemodels.FoldedFill(small, 1000); err != nil {
		t.Fatal(err)
	}
	ms, err := loader.Load(context.Background(), small, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if sp, _ := ms.SignaturePlan("serving_default"); sp.Plan.Ops()["Fill"] != 0 {
		t.Fatalf("small Fill not folded: plan ops %v", sp.Plan.Ops())
	}
}

// TestHugeInitOpFails: an init op that fills 2^33 floats (32 GiB) at load
// is refused by the constant budget before the tensor is allocated (the
// need counts the 12 bytes of the model's two constants too).
func TestHugeInitOpFails(t *testing.T) {
	dir := t.TempDir()
	if err := hostilemodels.HugeInitOp(dir, 1<<33); err != nil {
		t.Fatal(err)
	}
	err, alloc := loadErr(t, dir, loader.Options{})
	if err == nil || !strings.Contains(err.Error(), "needs 34359738380, over the limit of 4294967296 (--model_max_const_bytes)") {
		t.Fatalf("err = %v", err)
	}
	if alloc > 16<<20 {
		t.Fatalf("failed load allocated %d bytes", alloc)
	}
}
