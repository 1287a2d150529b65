// Package loader turns a SavedModel directory into a runnable
// servable.Model, as TF Serving's SavedModel bundle loader does: it reads
// saved_model.pb, picks the MetaGraph by tags, translates the TF graph into
// tfserve's IR, restores the variables from the checkpoint bundle by running
// the model's own restore op, runs the init op (tables, assets), and compiles
// one plan per signature.
package loader

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/functionalize"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/graph/scann"
	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/loader/tfimport"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
)

// Options configure Load.
type Options struct {
	// Tags select the MetaGraph (default "serve").
	Tags []string
	// Logger receives load progress; nil means slog.Default().
	Logger *slog.Logger
	// Registry overrides kernel lookup (nil means kernels.Lookup). The
	// loader still supplies RestoreV2 itself.
	Registry graph.Registry
	// Passes rewrite the imported graph before it is compiled (engine
	// lowering). They run in order, after fusion.
	Passes []Pass
	// DisableOptimization skips inlining and constant folding: signatures
	// run the graph as translated.
	DisableOptimization bool
	// DisableFusion keeps Keras GRU/LSTM functions as the op-by-op loops
	// TensorFlow exported instead of fused kernels.
	DisableFusion bool
	// BruteForceToANN replaces TFRS BruteForce top-k (TopKV2 over a
	// MatMul with the candidate matrix) by a search of the quantized ann
	// index built from the candidates. Also settable per model in
	// assets.extra/tfserve.json. Needs optimization (the candidates must
	// fold into a constant).
	BruteForceToANN bool
	// ScaNN tunes the ScaNN ops' search. A model can also set it in
	// assets.extra/tfserve.json (see ReadModelOptions); Options win when
	// non-zero.
	ScaNN scann.Options
	// Precision overrides the model's tfserve.json "precision" ("fp32" or
	// "bf16") when non-empty.
	Precision string
	// Limits bound what the model file may make the load build: nodes
	// after inlining, bytes of constants and variables, the size of one
	// folded constant (zero fields: limits' defaults).
	Limits limits.Load
}

// Pass rewrites an imported model in place.
type Pass func(m *Imported) error

// Imported is a translated MetaGraph before compilation.
type Imported struct {
	Dir       string
	MetaGraph *tfpb.MetaGraphDef
	Graph     *graph.Graph
	Library   graph.Library
	Ops       map[string]int
	// Expansion is the size of Graph with its function calls expanded.
	Expansion graph.Expansion

	// budget counts constants, variables and folded tensors.
	budget *constBudget
}

// Load reads, translates, restores, initialises and compiles a SavedModel.
func Load(ctx context.Context, dir string, opts Options) (*Model, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	im, err := ImportLimited(dir, opts.Tags, opts.Limits)
	if err != nil {
		return nil, err
	}
	return finish(ctx, im, opts, log)
}

// LoadMetaGraph compiles a MetaGraph made in memory (by a translator from
// another format) as Load compiles a SavedModel's; dir is where its
// assets would be.
func LoadMetaGraph(ctx context.Context, dir string, mg *tfpb.MetaGraphDef, opts Options) (*Model, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	im, err := importMetaGraph(dir, mg, opts.Limits)
	if err != nil {
		return nil, err
	}
	return finish(ctx, im, opts, log)
}

// finish fuses, runs the extra passes and compiles an imported graph.
func finish(ctx context.Context, im *Imported, opts Options, log *slog.Logger) (*Model, error) {
	dir := im.Dir
	if !opts.DisableFusion {
		rep := fuse.Library(im.Library)
		if len(rep.Fused) > 0 {
			log.Debug("fused recurrent layers", "dir", dir, "functions", len(rep.Fused))
		}
		if lr := fuse.Loops(im.Graph, im.Library); len(lr.Fused) > 0 {
			log.Debug("fused TF1 GRU loops", "dir", dir, "loops", lr.Fused)
		}
	}
	for _, p := range opts.Passes {
		if err := p(im); err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
	}
	m, err := compile(ctx, im, opts)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	st := m.LoadStats()
	log.Info("model loaded", "dir", dir, "signatures", len(m.plans), "nodes", len(im.Graph.Nodes), "functions", len(im.Library),
		"expanded_nodes", st.Nodes, "const_bytes", st.ConstBytes, "biggest_fold_bytes", st.BiggestFold)
	return m, nil
}

// Import reads a SavedModel and translates its MetaGraph without running
// anything, within the default limits.
func Import(dir string, tags []string) (*Imported, error) {
	return ImportLimited(dir, tags, limits.Load{})
}

// ImportLimited is Import within lim (a version directory may hold a
// Keras 3 .keras file or a frozen GraphDef instead of a SavedModel; see
// kerasMetaGraph and FrozenMetaGraph): constants are charged to
// lim.MaxConstBytes before they are decoded, and a graph whose function
// calls would expand past lim.MaxNodes (or recurse, or nest deeper than
// graph.MaxCallDepth) fails.
func ImportLimited(dir string, tags []string, lim limits.Load) (*Imported, error) {
	for _, other := range []func(string, limits.Load) (*tfpb.MetaGraphDef, bool, error){kerasMetaGraph, FrozenMetaGraph} {
		if mg, ok, err := other(dir, lim); ok || err != nil {
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", dir, err)
			}
			return importMetaGraph(dir, mg, lim)
		}
	}
	sm, err := savedmodel.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	mg, err := savedmodel.MetaGraph(sm, tags)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return importMetaGraph(dir, mg, lim)
}

// kerasMetaGraph translates the Keras 3 file of a version directory that
// holds no SavedModel (ok is false otherwise). Its weights are bounded by
// the constants' budget, which they become.
func kerasMetaGraph(dir string, lim limits.Load) (*tfpb.MetaGraphDef, bool, error) {
	if savedmodel.Holds(dir) {
		return nil, false, nil
	}
	path, ok, err := keras3.Find(dir)
	if !ok || err != nil {
		return nil, ok, err
	}
	mg, err := keras3.ReadFile(path, keras3.Limits{MaxWeightsBytes: lim.MaxConstBytes})
	return mg, true, err
}

// ImportMetaGraph translates one MetaGraph of the SavedModel in dir, within
// the default limits.
func ImportMetaGraph(dir string, mg *tfpb.MetaGraphDef) (*Imported, error) {
	return importMetaGraph(dir, mg, limits.Load{})
}

func importMetaGraph(dir string, mg *tfpb.MetaGraphDef, lim limits.Load) (*Imported, error) {
	if mg.GraphDef == nil {
		return nil, fmt.Errorf("load %s: meta graph has no graph_def", dir)
	}
	var ops *tfpb.OpList
	if mg.MetaInfoDef != nil {
		ops = mg.MetaInfoDef.StrippedOpList
	}
	budget := newConstBudget(lim)
	res, err := tfimport.ImportLimited(mg.GraphDef, ops, budget.take)
	if err != nil {
		return nil, fmt.Errorf("load %s: translate graph: %w", dir, err)
	}
	// TF1 while loops (Enter/Merge/Switch/NextIteration/Exit frames) become
	// functional While nodes; a no-op for graphs without them.
	if err := functionalize.Graph(res.Graph, res.Library); err != nil {
		return nil, fmt.Errorf("load %s: v1 control flow: %w", dir, err)
	}
	im := &Imported{Dir: dir, MetaGraph: mg, Graph: res.Graph, Library: res.Library, Ops: res.Ops, budget: budget}
	if im.Expansion, err = checkExpansion(im, lim); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	return im, nil
}

// Model is a loaded SavedModel. It implements servable.Model.
type Model struct {
	im    *Imported
	dir   string
	sigs  map[string]*servable.Signature
	plans map[string]*graph.SignaturePlan
	sess  *graph.Session
	mo    *ModelOptions // assets.extra/tfserve.json; nil when absent
}

var _ servable.Model = (*Model)(nil)

// Imported returns the translated graph the model runs (after fusion).
func (m *Model) Imported() *Imported { return m.im }

// ModelOptions is the version's assets.extra/tfserve.json as read at load
// (nil when it has none).
func (m *Model) ModelOptions() *ModelOptions { return m.mo }

// Graph is the translated top-level graph the signature plans' ports
// belong to.
func (m *Model) Graph() *graph.Graph { return m.im.Graph }

// Session returns the model's session: its library, kernels and the
// resources (restored variables, initialised tables) its plans share.
func (m *Model) Session() *graph.Session { return m.sess }

// SignaturePlan returns the plan of a runnable signature.
func (m *Model) SignaturePlan(name string) (*graph.SignaturePlan, bool) {
	sp, ok := m.plans[name]
	return sp, ok
}

// Dir is the SavedModel directory the model was loaded from.
func (m *Model) Dir() string { return m.dir }

// Signatures returns every signature of the MetaGraph.
func (m *Model) Signatures() map[string]*servable.Signature { return m.sigs }

// Close drops the model's state.
func (m *Model) Close() error {
	m.plans = nil
	m.sess = nil
	return nil
}

// parseTensorName splits "node:1" (or "node") into its parts.
func parseTensorName(s string) (string, int, error) {
	name, idx := s, 0
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		k, err := strconv.Atoi(s[i+1:])
		if err != nil || k < 0 {
			return "", 0, fmt.Errorf("bad tensor name %q", s)
		}
		name, idx = s[:i], k
	}
	if name == "" {
		return "", 0, fmt.Errorf("bad tensor name %q", s)
	}
	return name, idx, nil
}

func lookupPort(g *graph.Graph, byName map[string]*graph.Node, tensorName string) (graph.Port, error) {
	name, idx, err := parseTensorName(tensorName)
	if err != nil {
		return graph.Port{}, err
	}
	n, ok := byName[name]
	if !ok {
		return graph.Port{}, fmt.Errorf("tensor %s: no node %q in the graph", tensorName, name)
	}
	if idx >= n.NumOutputs {
		return graph.Port{}, fmt.Errorf("tensor %s: node %s has %d outputs", tensorName, name, n.NumOutputs)
	}
	return graph.Port{Node: n, Out: idx}, nil
}

func signatures(mg *tfpb.MetaGraphDef) map[string]*servable.Signature {
	out := map[string]*servable.Signature{}
	for name, sd := range mg.SignatureDef {
		s := &servable.Signature{Name: name, MethodName: sd.MethodName, Inputs: map[string]servable.TensorInfo{}, Outputs: map[string]servable.TensorInfo{}}
		for k, ti := range sd.Inputs {
			s.Inputs[k] = tensorInfo(ti)
		}
		for k, ti := range sd.Outputs {
			s.Outputs[k] = tensorInfo(ti)
		}
		out[name] = s
	}
	return out
}

func tensorInfo(ti *tfpb.TensorInfo) servable.TensorInfo {
	out := servable.TensorInfo{Name: ti.GetName(), DType: tensor.DType(ti.Dtype)}
	if ti.TensorShape == nil || ti.TensorShape.UnknownRank {
		// An absent tensor_shape is printed as absent (TF Serving prints
		// the TensorInfo as stored) and checked as unknown rank.
		out.UnknownRank = true
		out.NoShape = ti.TensorShape == nil
		return out
	}
	out.Dims = make([]servable.Dim, len(ti.TensorShape.Dim))
	for i, d := range ti.TensorShape.Dim {
		out.Dims[i] = servable.Dim{Size: d.Size, Name: d.Name}
	}
	return out
}
