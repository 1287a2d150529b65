package loader_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/hostilemodels"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/servable/limits"
)

// fuzzLimits are small load budgets, so hostile inputs hit them fast.
var fuzzLimits = limits.Load{MaxNodes: 5000, MaxConstBytes: 4 << 20, MaxFoldBytes: 64 << 10}

// FuzzLoad loads arbitrary bytes as saved_model.pb (import, expansion
// check, init, inlining, folding, compilation) under small budgets. No input
// may panic or hang, and a load may allocate at most a bounded multiple of
// the input size plus a multiple of the constant budget (what folding,
// init ops and the plans of several signatures may hold).
func FuzzLoad(f *testing.F) {
	dir := f.TempDir()
	if err := demo.WriteAll(dir); err != nil {
		f.Fatal(err)
	}
	seeds, _ := filepath.Glob(filepath.Join(dir, "*", "*", "saved_model.pb"))
	for name, write := range map[string]func(string) error{
		"exp":    func(d string) error { return hostilemodels.ExponentialCalls(d, 40) },
		"deep":   func(d string) error { return hostilemodels.DeepCalls(d, 80) },
		"rec":    hostilemodels.RecursiveCall,
		"padded": func(d string) error { return hostilemodels.PaddedConst(d, 1<<28) },
		"fill":   func(d string) error { return hostilemodels.FoldedFill(d, 1<<28) },
		"init":   func(d string) error { return hostilemodels.HugeInitOp(d, 1<<33) },
	} {
		d := filepath.Join(dir, "hostile", name)
		if err := write(d); err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, filepath.Join(d, "saved_model.pb"))
	}
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "saved_model.pb"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := loader.Load(ctx, d, loader.Options{Logger: quiet, Limits: fuzzLimits})
		runtime.ReadMemStats(&after)
		if err == nil {
			m.Close()
		}
		bound := uint64(1024*len(data)) + 2*uint64(fuzzLimits.MaxConstBytes) + 16<<20
		if got := after.TotalAlloc - before.TotalAlloc; got > bound {
			t.Fatalf("loading %d bytes allocated %d, over %d (err %v)", len(data), got, bound, err)
		}
	})
}
