// Package loader turns a SavedModel directory into a runnable
// servable.Model, as TF Serving's SavedModel bundle loader does: it reads
// saved_model.pb, picks the MetaGraph by tags, translates the TF graph into
// tfserve's IR, restores the variables from the checkpoint bundle by running
// the model's own restore op, runs the init op (tables, assets), and compiles
// one plan per signature.
package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/annrewrite"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/graph/scann"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader/bundle"
	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/loader/tfimport"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
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
	if !opts.DisableFusion {
		rep := fuse.Library(im.Library)
		if len(rep.Fused) > 0 {
			log.Debug("fused recurrent layers", "dir", dir, "functions", len(rep.Fused))
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

// ImportLimited is Import within lim: constants are charged to
// lim.MaxConstBytes before they are decoded, and a graph whose function
// calls would expand past lim.MaxNodes (or recurse, or nest deeper than
// graph.MaxCallDepth) fails.
func ImportLimited(dir string, tags []string, lim limits.Load) (*Imported, error) {
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
		out.UnknownRank = ti.TensorShape != nil && ti.TensorShape.UnknownRank
		if ti.TensorShape == nil {
			out.UnknownRank = true
		}
		return out
	}
	out.Dims = make([]servable.Dim, len(ti.TensorShape.Dim))
	for i, d := range ti.TensorShape.Dim {
		out.Dims[i] = servable.Dim{Size: d.Size, Name: d.Name}
	}
	return out
}

func compile(ctx context.Context, im *Imported, opts Options) (*Model, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	mg := im.MetaGraph
	reg := opts.Registry
	if reg == nil {
		reg = kernels.Lookup
	}
	reg = fuse.Registry(reg)
	mo, err := ReadModelOptions(im.Dir)
	if err != nil {
		return nil, err
	}
	scOpts := opts.ScaNN
	if mo != nil && scOpts == (scann.Options{}) {
		scOpts = scann.Options{Exhaustive: mo.ANN.Exhaustive, LeavesToSearch: mo.ANN.LeavesToSearch}
	}
	reg = scann.Registry(reg, scOpts)
	reg = annrewrite.Registry(reg)
	bf := annrewrite.Options{LeavesToSearch: opts.ScaNN.LeavesToSearch}
	bfOn := opts.BruteForceToANN
	if mo != nil && mo.ANN.BruteForceToANN {
		bfOn = true
		if bf.LeavesToSearch == 0 {
			bf.LeavesToSearch = mo.ANN.LeavesToSearch
		}
	}
	prefix := filepath.Join(im.Dir, "variables", "variables")
	var rd *bundle.Reader
	if _, err := os.Stat(bundle.IndexPath(prefix)); err == nil {
		r, err := bundle.Open(prefix)
		if err != nil {
			return nil, fmt.Errorf("open checkpoint: %w", err)
		}
		defer r.Close()
		rd = r
	}
	sessReg := func(op string) (kernels.Builder, bool) {
		if op == "RestoreV2" || op == "Restore" || op == "RestoreSlice" {
			return restoreBuilder(rd, im.budget), true
		}
		return reg(op)
	}
	sess := graph.NewSession(im.Library, sessReg)
	byName := map[string]*graph.Node{}
	for _, n := range im.Graph.Nodes {
		byName[n.Name] = n
	}

	missing := &graph.MissingOpsError{Uses: map[string][]string{}}
	var compileErrs []string
	note := func(what string, err error) {
		var me *graph.MissingOpsError
		if errors.As(err, &me) {
			for op, uses := range me.Uses {
				missing.Uses[op] = appendUnique(missing.Uses[op], uses...)
			}
			return
		}
		compileErrs = append(compileErrs, what+": "+err.Error())
	}

	// Restore plan.
	var restore *graph.Plan
	var restoreFeed graph.Port
	if sd := mg.SaverDef; sd != nil && sd.RestoreOpName != "" && rd != nil {
		rn, _, err := parseTensorName(sd.RestoreOpName)
		if err != nil {
			return nil, fmt.Errorf("saver_def: %w", err)
		}
		target, ok := byName[rn]
		if !ok {
			return nil, fmt.Errorf("saver_def: restore op %q not in graph", sd.RestoreOpName)
		}
		restoreFeed, err = lookupPort(im.Graph, byName, sd.FilenameTensorName)
		if err != nil {
			return nil, fmt.Errorf("saver_def filename: %w", err)
		}
		restore, err = sess.Compile("restore", im.Graph, []graph.Port{restoreFeed}, nil, []*graph.Node{target})
		if err != nil {
			note("restore", err)
		}
	}

	// Init plan: TF2 __saved_model_init_op signature, or TF1 main_op /
	// legacy_init_op collections. Assets are fed as file paths.
	var initTargets []*graph.Node
	if sd, ok := mg.SignatureDef["__saved_model_init_op"]; ok {
		for _, ti := range sd.Outputs {
			name, _, err := parseTensorName(ti.GetName())
			if err == nil && byName[name] != nil {
				initTargets = append(initTargets, byName[name])
			}
		}
	}
	for _, key := range []string{"saved_model_main_op", "legacy_init_op", "table_initializer"} {
		if cd, ok := mg.CollectionDef[key]; ok && cd.GetNodeList() != nil {
			for _, v := range cd.GetNodeList().Value {
				name, _, err := parseTensorName(v)
				if err == nil && byName[name] != nil {
					initTargets = append(initTargets, byName[name])
				}
			}
		}
	}
	var assetFeeds []graph.Port
	var assetVals []*tensor.Tensor
	for _, a := range mg.AssetFileDef {
		p, err := lookupPort(im.Graph, byName, a.GetTensorInfo().GetName())
		if err != nil {
			continue
		}
		assetFeeds = append(assetFeeds, p)
		assetVals = append(assetVals, tensor.Scalar(filepath.Join(im.Dir, "assets", a.Filename)))
	}
	var initPlan *graph.Plan
	if len(initTargets) > 0 {
		p, err := sess.Compile("init", im.Graph, assetFeeds, nil, initTargets)
		if err != nil {
			note("init", err)
		}
		initPlan = p
	}

	// Signature plans.
	m := &Model{im: im, dir: im.Dir, sigs: signatures(mg), plans: map[string]*graph.SignaturePlan{}, sess: sess, mo: mo}
	names := make([]string, 0, len(mg.SignatureDef))
	for name := range mg.SignatureDef {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sd := mg.SignatureDef[name]
		if name == "__saved_model_init_op" || len(sd.Outputs) == 0 {
			continue
		}
		sp := &graph.SignaturePlan{}
		var feeds, fetches []graph.Port
		var bad error
		for _, alias := range slices.Sorted(maps.Keys(sd.Inputs)) {
			p, err := lookupPort(im.Graph, byName, sd.Inputs[alias].GetName())
			if err != nil {
				bad = fmt.Errorf("input %s: %w", alias, err)
				break
			}
			feeds = append(feeds, p)
			sp.Inputs = append(sp.Inputs, alias)
			// TF checks a feed against the placeholder's own dtype, which can
			// differ from what the SignatureDef declares.
			dt := tensor.DType(sd.Inputs[alias].Dtype).Base()
			if pt := p.Node.Attrs.Type("dtype", tensor.Invalid); pt != tensor.Invalid && (p.Node.Op == "Placeholder" || p.Node.Op == "PlaceholderWithDefault") {
				dt = pt.Base()
			}
			sp.DTypes = append(sp.DTypes, dt)
		}
		for _, alias := range slices.Sorted(maps.Keys(sd.Outputs)) {
			if bad != nil {
				break
			}
			p, err := lookupPort(im.Graph, byName, sd.Outputs[alias].GetName())
			if err != nil {
				bad = fmt.Errorf("output %s: %w", alias, err)
				break
			}
			if p.Node.Op == "VariableV2" || p.Node.Op == "Variable" {
				// Fetching a TF1 ref variable returns its value.
				r := &graph.Node{Name: p.Node.Name + "/_fetch_value", Op: "ReadVariableOp", NumOutputs: 1,
					Attrs: kernels.Attrs{"dtype": p.Node.Attrs.Type("dtype", tensor.Float32)}, Inputs: []graph.Port{p}}
				im.Graph.AddNode(r)
				p = graph.Port{Node: r}
			}
			fetches = append(fetches, p)
			sp.Outputs = append(sp.Outputs, alias)
		}
		if bad != nil {
			compileErrs = append(compileErrs, "signature "+name+": "+bad.Error())
			continue
		}
		plan, err := sess.Compile(name, im.Graph, feeds, fetches, nil)
		if err != nil {
			note("signature "+name, err)
			continue
		}
		sp.Plan = plan
		sp.Feeds, sp.Fetches = feeds, fetches
		m.plans[name] = sp
	}
	if len(missing.Uses) > 0 {
		return nil, missing
	}
	if len(compileErrs) > 0 {
		return nil, errors.New(strings.Join(compileErrs, "; "))
	}

	// Restored variables are charged by the restore kernel itself; what
	// other kernels allocate while restoring or initialising is charged
	// here, before it is allocated.
	take := func(bytes int64) error { return im.budget.take(0, bytes) }
	if restore != nil {
		if _, err := restore.RunCharged(ctx, []*tensor.Tensor{tensor.Scalar(prefix)}, take); err != nil {
			return nil, fmt.Errorf("restore variables: %w", err)
		}
	}
	if initPlan != nil {
		if _, err := initPlan.RunCharged(ctx, assetVals, take); err != nil {
			return nil, fmt.Errorf("run init op: %w", err)
		}
	}
	if !opts.DisableOptimization {
		keepVars := servingAssigns(im, m.plans)
		for name, sp := range m.plans {
			var bfOpts *annrewrite.Options
			if bfOn {
				bfOpts = &bf
			}
			if err := optimize(ctx, sess, im, name, sp, keepVars, bfOpts, opts.Limits); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if _, over := errors.AsType[*graph.NodeLimitError](err); over {
					return nil, fmt.Errorf("inline signature %s: %w", name, nodeLimitError(err))
				}
				log.Warn("optimizing signature failed; it runs unoptimized", "dir", im.Dir, "signature", name, "err", err)
			}
		}
	}
	return m, nil
}

// optimize inlines function calls into the signature's graph and folds
// everything that does not depend on its inputs (variable reads, shape
// arithmetic, table handles) into constants, then recompiles the plan.
func optimize(ctx context.Context, sess *graph.Session, im *Imported, name string, sp *graph.SignaturePlan, keepVars bool, bf *annrewrite.Options, lim limits.Load) error {
	lim = lim.WithDefaults()
	ports := append(append([]graph.Port(nil), sp.Feeds...), sp.Fetches...)
	g, mapped, err := graph.Inline(&graph.Graph{Name: name, Nodes: im.Graph.Nodes}, im.Library, ports, lim.MaxNodes)
	if err != nil {
		return err
	}
	feeds, fetches := mapped[:len(sp.Feeds)], mapped[len(sp.Feeds):]
	fold := graph.FoldOptions{KeepVariables: keepVars, MaxBytes: lim.MaxFoldBytes}
	if im.budget != nil {
		fold.Charge = im.budget.charge
	}
	fetches, _, err = sess.FoldConstants(ctx, g, feeds, fetches, fold)
	if err != nil {
		return err
	}
	if bf != nil {
		if fetches, _, err = annrewrite.Rewrite(g, fetches, *bf); err != nil {
			return err
		}
	}
	plan, err := sess.Compile(name, g, feeds, fetches, nil)
	if err != nil {
		return err
	}
	sp.Plan = plan
	known := map[graph.Port]tensor.Shape{}
	sd := im.MetaGraph.SignatureDef[name]
	for i, alias := range sp.Inputs {
		if ti := sd.Inputs[alias]; ti != nil && ti.TensorShape != nil && !ti.TensorShape.UnknownRank {
			known[feeds[i]] = tensorproto.Shape(ti.TensorShape)
		}
	}
	shapes := graph.InferShapes(g, known)
	sp.InferredShapes = make([]tensor.Shape, len(fetches))
	for i, f := range fetches {
		sp.InferredShapes[i] = shapes[f]
	}
	return nil
}

// assignOps change variables.
var assignOps = map[string]bool{
	"Assign": true, "AssignAdd": true, "AssignSub": true, "AssignVariableOp": true,
	"AssignAddVariableOp": true, "AssignSubVariableOp": true, "ResourceScatterUpdate": true,
	"ResourceScatterAdd": true, "ScatterUpdate": true, "ScatterAdd": true,
}

// servingAssigns reports whether anything the serving signatures reach
// (through calls and control flow) assigns a variable: then variable reads
// must stay live instead of being folded.
func servingAssigns(im *Imported, plans map[string]*graph.SignaturePlan) bool {
	seen := map[*graph.Node]bool{}
	seenFn := map[string]bool{}
	var stack []*graph.Node
	for _, sp := range plans {
		for _, f := range sp.Fetches {
			stack = append(stack, f.Node)
		}
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if assignOps[n.Op] {
			return true
		}
		for _, in := range n.Inputs {
			stack = append(stack, in.Node)
		}
		stack = append(stack, n.Control...)
		for _, fn := range n.CalledFunctions(im.Library) {
			if seenFn[fn] {
				continue
			}
			seenFn[fn] = true
			if g := im.Library[fn]; g != nil {
				for _, r := range g.Rets {
					stack = append(stack, r.Node)
				}
				stack = append(stack, g.ControlRets...)
			}
		}
	}
	return false
}

func appendUnique(dst []string, src ...string) []string {
	seen := map[string]bool{}
	for _, s := range dst {
		seen[s] = true
	}
	for _, s := range src {
		if !seen[s] {
			seen[s] = true
			dst = append(dst, s)
		}
	}
	return dst
}
