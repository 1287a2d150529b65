package loader_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
)

// TestOptimizationFoldsVariables: after inlining and folding, signature
// plans read no variables and call no functions.
func TestOptimizationFoldsVariables(t *testing.T) {
	fx := fixtures.Dir(t)
	m, err := loader.Load(context.Background(), filepath.Join(fx, "keras/gru/christopher_stock/1"), loader.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := m.SignaturePlan("serving_default")
	ops := sp.Plan.Ops()
	t.Logf("optimized ops: %v", ops)
	if ops["ReadVariableOp"] > 0 || ops["StatefulPartitionedCall"] > 0 || ops["PartitionedCall"] > 0 || ops["VarHandleOp"] > 0 {
		t.Errorf("optimized plan still reads variables or calls functions: %v", ops)
	}
	if ops["_FusedGRU"] != 1 {
		t.Errorf("want one fused GRU step, got %v", ops)
	}
}

// TestOptimizationShrinksPlans: TF1 half_plus_two runs fewer steps once
// variable reads are folded.
func TestOptimizationShrinksPlans(t *testing.T) {
	fx := fixtures.Dir(t)
	for _, d := range []string{"tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123"} {
		steps := map[bool]int{}
		for _, opt := range []bool{true, false} {
			m, err := loader.Load(context.Background(), filepath.Join(fx, d), loader.Options{DisableOptimization: !opt, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			sp, ok := m.SignaturePlan("serving_default")
			if !ok {
				t.Fatal("no serving_default")
			}
			steps[opt] = sp.Plan.NumSteps()
		}
		t.Logf("%s: %d steps optimized, %d unoptimized", d, steps[true], steps[false])
		if steps[true] >= steps[false] {
			t.Errorf("%s: optimized plan has %d steps, unoptimized %d", d, steps[true], steps[false])
		}
	}
}

// TestShapeInference: static shapes flow from the signature inputs (batch
// -1) through the optimized graph to the outputs, through the fused GRU.
func TestShapeInference(t *testing.T) {
	fx := fixtures.Dir(t)
	for d, want := range map[string]string{
		"keras/gru/christopher_stock/1":  "[-1,1]",
		"keras/gru/beagle_music_genre/1": "[-1,10]",
		"tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123": "[-1,1]",
	} {
		m, err := loader.Load(context.Background(), filepath.Join(fx, d), loader.Options{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		sp, _ := m.SignaturePlan("serving_default")
		if len(sp.InferredShapes) != 1 || sp.InferredShapes[0].String() != want {
			t.Errorf("%s: inferred %v, want %s", d, sp.InferredShapes, want)
		}
	}
}
