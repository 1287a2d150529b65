package loader_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// dl4jGraphs are the frozen TF1 graphs (with TensorFlow's own outputs) of
// KonduitAI's dl4j-test-resources.
var dl4jGraphs = []string{
	"primitive_gru",
	"rnn/grucell/static_b1_nIn5_nOut3_ts4_tanh_noIS_float",
	"rnn/grucell/dynamic_b1_nIn5_nOut3_ts4_relu_noIS_noTM_float",
	"rnn/grublockcellv2/static_b1_n5-3_ts4_noIS_f32",
}

// readCSV reads a dl4j value file (one number per line) and its shape file
// (one dimension per line; "0" with one value is a scalar).
func readCSV(t *testing.T, csv, shape string) ([]float64, tensor.Shape) {
	t.Helper()
	var vals []float64
	data, err := os.ReadFile(csv)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(strings.ReplaceAll(string(data), ",", " ")) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("%s: %v", csv, err)
		}
		vals = append(vals, v)
	}
	var s tensor.Shape
	if data, err = os.ReadFile(shape); err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(data)) {
		d, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		s = append(s, d)
	}
	if len(vals) == 1 && s.NumElements() != 1 {
		s = tensor.Shape{}
	}
	return vals, s
}

// floats returns a numeric tensor's values as float64 (false for other
// dtypes).
func floats(t *tensor.Tensor) ([]float64, bool) {
	switch d := t.Data.(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, true
	case []float64:
		return d, true
	case []int32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, true
	case []int64:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, true
	}
	return nil, false
}

// maxDiff compares got with want (shapes and values); it returns the
// largest absolute difference, or an error text.
func maxDiff(got *tensor.Tensor, want []float64, shape tensor.Shape) (float64, string) {
	g, ok := floats(got)
	if !ok {
		return 0, "not numeric: " + got.DType.String()
	}
	if len(g) != len(want) {
		return 0, "got " + strconv.Itoa(len(g)) + " values " + got.Shape.String() + ", want " + strconv.Itoa(len(want)) + " " + shape.String()
	}
	if shape.NumElements() == len(want) && !got.Shape.Equal(shape) {
		return 0, "got shape " + got.Shape.String() + ", want " + shape.String()
	}
	d := 0.0
	for i := range g {
		if math.IsNaN(g[i]) {
			return 0, "NaN at " + strconv.Itoa(i)
		}
		d = max(d, math.Abs(g[i]-want[i]))
	}
	return d, ""
}

// TestFrozenDL4JGraphs loads each dl4j frozen graph as a version directory
// (loader.Load, which finds it with FrozenMetaGraph), feeds TensorFlow's inputs and checks its outputs, and
// every intermediate that is still a node of the graph after
// functionalization, within 1e-5.
func TestFrozenDL4JGraphs(t *testing.T) {
	const tol = 1e-5
	for _, rel := range dl4jGraphs {
		t.Run(rel, func(t *testing.T) {
			dir := fixtures.Path(t, "gru_frozen_graphs/dl4j/"+rel)
			mg, ok, err := loader.FrozenMetaGraph(dir, limits.Load{})
			if err != nil || !ok {
				t.Fatalf("FrozenMetaGraph: ok %v, %v", ok, err)
			}
			sig := mg.SignatureDef[loader.FrozenSignature]
			inputs := map[string]*tensor.Tensor{}
			for alias, ti := range sig.Inputs {
				vals, shape := readCSV(t, filepath.Join(dir, alias+".placeholder.csv"), filepath.Join(dir, alias+".placeholder.shape"))
				x := tensor.New(tensor.DType(ti.Dtype), shape)
				switch d := x.Data.(type) {
				case []float64:
					copy(d, vals)
				case []float32:
					for i, v := range vals {
						d[i] = float32(v)
					}
				default:
					t.Fatalf("input %s is %v", alias, x.DType)
				}
				inputs[alias] = x
			}
			var outs []string
			for alias := range sig.Outputs {
				outs = append(outs, alias)
			}
			slices.Sort(outs)
			for _, opts := range []loader.Options{{Logger: quiet}, {Logger: quiet, DisableOptimization: true}} {
				// As a server loads a version directory (ImportLimited
				// finds the frozen graph).
				m, err := loader.Load(context.Background(), dir, opts)
				if err != nil {
					t.Fatalf("load (optimization %v): %v", !opts.DisableOptimization, err)
				}
				for run := 0; run < 2; run++ { // a second run must not see the first's state
					res, err := m.Run(context.Background(), loader.FrozenSignature, inputs, nil)
					if err != nil {
						t.Fatalf("run (optimization %v): %v", !opts.DisableOptimization, err)
					}
					for _, alias := range outs {
						want, shape := readCSV(t, filepath.Join(dir, alias+".prediction.csv"), filepath.Join(dir, alias+".prediction.shape"))
						d, msg := maxDiff(res[alias], want, shape)
						if msg != "" || d > tol {
							t.Errorf("output %s (optimization %v): max diff %g %s", alias, !opts.DisableOptimization, d, msg)
						} else if run == 0 {
							t.Logf("output %s (optimization %v): max diff %.3g", alias, !opts.DisableOptimization, d)
						}
					}
				}
				checkIntermediates(t, m, dir, inputs, tol)
				m.Close()
			}
		})
	}
}

// checkIntermediates compares every <node>.<k>.prediction_inbw.csv whose
// node is still in the model's graph and numeric.
func checkIntermediates(t *testing.T, m *loader.Model, dir string, inputs map[string]*tensor.Tensor, tol float64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.prediction_inbw.csv"))
	g := m.Graph()
	byName := map[string]*graph.Node{}
	for _, n := range g.Nodes {
		byName[n.Name] = n
	}
	var fetches []graph.Port
	var wants []string
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".prediction_inbw.csv")
		i := strings.LastIndexByte(base, '.')
		out, err := strconv.Atoi(base[i+1:])
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(strings.ReplaceAll(base[:i], "____", "/"), "import/")
		n := byName[name]
		if n == nil || out >= n.NumOutputs || n.Op == "Placeholder" {
			continue
		}
		fetches = append(fetches, graph.Port{Node: n, Out: out})
		wants = append(wants, strings.TrimSuffix(f, ".csv"))
	}
	var feeds []graph.Port
	var args []*tensor.Tensor
	for alias, x := range inputs {
		feeds = append(feeds, graph.Port{Node: byName[alias]})
		args = append(args, x)
	}
	plan, err := m.Session().Compile("intermediates", g, feeds, fetches, nil)
	if err != nil {
		t.Fatalf("compile intermediates: %v", err)
	}
	res, err := plan.Run(context.Background(), args)
	if err != nil {
		t.Fatalf("run intermediates: %v", err)
	}
	checked := 0
	for i, r := range res {
		if _, ok := floats(r); !ok {
			continue // handles and lists
		}
		want, shape := readCSV(t, wants[i]+".csv", wants[i]+".shape")
		d, msg := maxDiff(r, want, shape)
		if msg != "" || d > tol {
			t.Errorf("intermediate %v: max diff %g %s", fetches[i], d, msg)
		}
		checked++
	}
	t.Logf("%d intermediates match", checked)
}
