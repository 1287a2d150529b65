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
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/graph/annrewrite"
	"github.com/tfserve/tfserve/graph/fuse"
	"github.com/tfserve/tfserve/graph/scann"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader/bundle"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// compile turns an imported MetaGraph into a runnable Model, in the stages
// TF Serving's bundle loader runs: bind the kernels (registry), open the
// checkpoint, compile the restore, init and signature plans (collecting
// every missing op before failing), restore the variables and run the init
// op, then optimize each signature.
func compile(ctx context.Context, im *Imported, opts Options) (*Model, error) {
	mo, err := ReadModelOptions(im.Dir)
	if err != nil {
		return nil, err
	}
	if err := checkPrecision(opts.Precision); err != nil {
		return nil, err
	}
	prefix := filepath.Join(im.Dir, "variables", "variables")
	rd, err := openCheckpoint(prefix)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		defer rd.Close()
	}
	c := &compiler{
		im:      im,
		sess:    graph.NewSession(im.Library, sessionRegistry(opts, mo, rd, im.budget)),
		byName:  make(map[string]*graph.Node, len(im.Graph.Nodes)),
		missing: &graph.MissingOpsError{Uses: map[string][]string{}},
	}
	for _, n := range im.Graph.Nodes {
		c.byName[n.Name] = n
	}
	var restore *graph.Plan
	if rd != nil {
		if restore, err = c.restorePlan(); err != nil {
			return nil, err
		}
	}
	initPlan, assetVals := c.initPlan()
	m := &Model{im: im, dir: im.Dir, sigs: signatures(im.MetaGraph), plans: c.signaturePlans(), sess: c.sess, mo: mo}
	if err := c.err(); err != nil {
		return nil, err
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
		if err := optimizeAll(ctx, m, bruteForceOptions(opts, mo), opts); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// sessionRegistry chains the kernel registries a model's plans bind at
// compile time: RestoreV2 reading rd, then ScaNN ops and the brute-force
// rewrite's ops, then the fused RNN kernels, then opts.Registry (the CPU
// kernels by default). The model's tfserve.json sets ScaNN options unless
// opts does.
func sessionRegistry(opts Options, mo *ModelOptions, rd *bundle.Reader, budget *constBudget) graph.Registry {
	reg := opts.Registry
	if reg == nil {
		reg = kernels.Lookup
	}
	reg = fuse.RegistryWith(reg, fuse.Options{BF16: halfPrecision(opts, mo)})
	scOpts := opts.ScaNN
	if mo != nil && scOpts == (scann.Options{}) {
		scOpts = scann.Options{Exhaustive: mo.ANN.Exhaustive, LeavesToSearch: mo.ANN.LeavesToSearch}
	}
	reg = annrewrite.Registry(scann.Registry(reg, scOpts))
	return func(op string) (kernels.Builder, bool) {
		if op == "RestoreV2" || op == "Restore" || op == "RestoreSlice" {
			return restoreBuilder(rd, budget), true
		}
		return reg(op)
	}
}

// bruteForceOptions is the brute-force-to-ANN rewrite's options when
// opts or the model's tfserve.json asks for it, nil otherwise.
func bruteForceOptions(opts Options, mo *ModelOptions) *annrewrite.Options {
	bf := annrewrite.Options{LeavesToSearch: opts.ScaNN.LeavesToSearch}
	on := opts.BruteForceToANN
	if mo != nil && mo.ANN.BruteForceToANN {
		on = true
		if bf.LeavesToSearch == 0 {
			bf.LeavesToSearch = mo.ANN.LeavesToSearch
		}
	}
	if !on {
		return nil
	}
	return &bf
}

// openCheckpoint opens the variables bundle at prefix; nil when the model
// has none.
func openCheckpoint(prefix string) (*bundle.Reader, error) {
	if _, err := os.Stat(bundle.IndexPath(prefix)); err != nil {
		return nil, nil
	}
	rd, err := bundle.Open(prefix)
	if err != nil {
		return nil, fmt.Errorf("open checkpoint: %w", err)
	}
	return rd, nil
}

// compiler holds what the plan-compiling stages share, and the failures
// they collect: every missing op of every plan is reported at once.
type compiler struct {
	im      *Imported
	sess    *graph.Session
	byName  map[string]*graph.Node
	missing *graph.MissingOpsError
	errs    []string
}

// note records a plan's compile failure.
func (c *compiler) note(what string, err error) {
	if me, ok := errors.AsType[*graph.MissingOpsError](err); ok {
		for op, uses := range me.Uses {
			c.missing.Uses[op] = appendUnique(c.missing.Uses[op], uses...)
		}
		return
	}
	c.errs = append(c.errs, what+": "+err.Error())
}

// err is the collected failure: the missing ops first, else the others.
func (c *compiler) err() error {
	if len(c.missing.Uses) > 0 {
		return c.missing
	}
	if len(c.errs) > 0 {
		return errors.New(strings.Join(c.errs, "; "))
	}
	return nil
}

// restorePlan compiles the SaverDef's restore op, fed the checkpoint prefix
// (nil when the MetaGraph has no SaverDef).
func (c *compiler) restorePlan() (*graph.Plan, error) {
	sd := c.im.MetaGraph.SaverDef
	if sd == nil || sd.RestoreOpName == "" {
		return nil, nil
	}
	rn, _, err := parseTensorName(sd.RestoreOpName)
	if err != nil {
		return nil, fmt.Errorf("saver_def: %w", err)
	}
	target, ok := c.byName[rn]
	if !ok {
		return nil, fmt.Errorf("saver_def: restore op %q not in graph", sd.RestoreOpName)
	}
	feed, err := lookupPort(c.im.Graph, c.byName, sd.FilenameTensorName)
	if err != nil {
		return nil, fmt.Errorf("saver_def filename: %w", err)
	}
	plan, err := c.sess.Compile("restore", c.im.Graph, []graph.Port{feed}, nil, []*graph.Node{target})
	if err != nil {
		c.note("restore", err)
	}
	return plan, nil
}

// initPlan compiles the init op: TF2's __saved_model_init_op signature, or
// TF1's main_op / legacy_init_op / table_initializer collections; it
// returns the asset file paths to feed it.
func (c *compiler) initPlan() (*graph.Plan, []*tensor.Tensor) {
	mg := c.im.MetaGraph
	var targets []*graph.Node
	addTarget := func(tensorName string) {
		if name, _, err := parseTensorName(tensorName); err == nil && c.byName[name] != nil {
			targets = append(targets, c.byName[name])
		}
	}
	if sd, ok := mg.SignatureDef["__saved_model_init_op"]; ok {
		for _, ti := range sd.Outputs {
			addTarget(ti.GetName())
		}
	}
	for _, key := range []string{"saved_model_main_op", "legacy_init_op", "table_initializer"} {
		if cd, ok := mg.CollectionDef[key]; ok && cd.GetNodeList() != nil {
			for _, v := range cd.GetNodeList().Value {
				addTarget(v)
			}
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	var feeds []graph.Port
	var vals []*tensor.Tensor
	for _, a := range mg.AssetFileDef {
		p, err := lookupPort(c.im.Graph, c.byName, a.GetTensorInfo().GetName())
		if err != nil {
			continue
		}
		feeds = append(feeds, p)
		vals = append(vals, tensor.Scalar(filepath.Join(c.im.Dir, "assets", a.Filename)))
	}
	plan, err := c.sess.Compile("init", c.im.Graph, feeds, nil, targets)
	if err != nil {
		c.note("init", err)
	}
	return plan, vals
}

// signaturePlans compiles a plan for every signature with outputs (except
// the init op's), in name order.
func (c *compiler) signaturePlans() map[string]*graph.SignaturePlan {
	plans := map[string]*graph.SignaturePlan{}
	sds := c.im.MetaGraph.SignatureDef
	for _, name := range slices.Sorted(maps.Keys(sds)) {
		sd := sds[name]
		if name == "__saved_model_init_op" || len(sd.Outputs) == 0 {
			continue
		}
		sp, err := c.signaturePorts(sd)
		if err != nil {
			c.errs = append(c.errs, "signature "+name+": "+err.Error())
			continue
		}
		if sp.Plan, err = c.sess.Compile(name, c.im.Graph, sp.Feeds, sp.Fetches, nil); err != nil {
			c.note("signature "+name, err)
			continue
		}
		plans[name] = sp
	}
	return plans
}

// signaturePorts finds the graph ports a signature feeds and fetches, in
// sorted alias order.
func (c *compiler) signaturePorts(sd *tfpb.SignatureDef) (*graph.SignaturePlan, error) {
	sp := &graph.SignaturePlan{}
	for _, alias := range slices.Sorted(maps.Keys(sd.Inputs)) {
		p, err := lookupPort(c.im.Graph, c.byName, sd.Inputs[alias].GetName())
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", alias, err)
		}
		sp.Feeds = append(sp.Feeds, p)
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
		p, err := lookupPort(c.im.Graph, c.byName, sd.Outputs[alias].GetName())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", alias, err)
		}
		if p.Node.Op == "VariableV2" || p.Node.Op == "Variable" {
			// Fetching a TF1 ref variable returns its value.
			r := &graph.Node{Name: p.Node.Name + "/_fetch_value", Op: "ReadVariableOp", NumOutputs: 1,
				Attrs: kernels.Attrs{"dtype": p.Node.Attrs.Type("dtype", tensor.Float32)}, Inputs: []graph.Port{p}}
			c.im.Graph.AddNode(r)
			p = graph.Port{Node: r}
		}
		sp.Fetches = append(sp.Fetches, p)
		sp.Outputs = append(sp.Outputs, alias)
	}
	return sp, nil
}

// optimizeAll optimizes every signature plan; a signature whose
// optimization fails runs unoptimized (with a warning), except when the
// load was cancelled or inlining went past --model_max_nodes.
func optimizeAll(ctx context.Context, m *Model, bf *annrewrite.Options, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	keepVars := servingAssigns(m.im, m.plans)
	for name, sp := range m.plans {
		err := optimize(ctx, m.sess, m.im, name, sp, keepVars, bf, halfPrecision(opts, m.mo), opts.Limits)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, over := errors.AsType[*graph.NodeLimitError](err); over {
			return fmt.Errorf("inline signature %s: %w", name, nodeLimitError(err))
		}
		log.Warn("optimizing signature failed; it runs unoptimized", "dir", m.im.Dir, "signature", name, "err", err)
	}
	return nil
}

// optimize inlines function calls into the signature's graph and folds
// everything that does not depend on its inputs (variable reads, shape
// arithmetic, table handles) into constants, then recompiles the plan.
// half packs constant MatMul operands in bf16 (fuse.BF16MatMuls).
func optimize(ctx context.Context, sess *graph.Session, im *Imported, name string, sp *graph.SignaturePlan, keepVars bool, bf *annrewrite.Options, half bool, lim limits.Load) error {
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
	if half {
		var charge func(int64) bool
		if im.budget != nil {
			charge = func(bytes int64) bool { return im.budget.take(0, bytes) == nil }
		}
		if _, err := fuse.BF16MatMuls(g, charge); err != nil {
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
