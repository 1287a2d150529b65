// Package inspect describes a SavedModel the way `saved_model_cli show
// --all` does (MetaGraphs, signatures with dtypes and shapes) and adds what
// tfserve needs to know: the ops each signature reaches, whether tfserve
// has a kernel for each, and whether the loader loads each MetaGraph.
//
// Op names are not enough: a model whose ops all have kernels can still be
// refused for a malformed attribute, a Const without a value or a negative
// dimension. Inspect does not repeat those rules; it runs the loader itself
// (loader.Load: translate, restore, initialise, compile, optimize) on every
// MetaGraph and reports its error.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/limits"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// executorOps run inside the executor rather than as kernels.
var executorOps = map[string]bool{
	"_Arg": true, "Const": true, "Placeholder": true, "NoOp": true,
	"PartitionedCall": true, "StatefulPartitionedCall": true,
	"While": true, "StatelessWhile": true, "If": true, "StatelessIf": true, "Case": true, "StatelessCase": true,
	"VarHandleOp": true, "VariableV2": true, "RestoreV2": true,
}

// TranslatedOp reports whether the loader itself implements op (control
// flow, calls, variables, restore, fused and ScaNN ops), beside the kernels.
func TranslatedOp(op string) bool {
	switch op {
	case "_FusedGRU", "_FusedLSTM", "Scann>TensorsToScann", "Scann>ScannSearchBatched", "Scann>ScannSearch",
		"Addons>TensorsToScann", "Addons>ScannSearchBatched", "Addons>ScannSearch", "RestoreV2":
		return true
	}
	return executorOps[op]
}

// Report is what Inspect found.
type Report struct {
	MetaGraphs []MetaGraphReport

	// sm is the SavedModel read, for Loads' selection by tags; mgs[i] is
	// the MetaGraphDef MetaGraphs[i] describes.
	sm  *tfpb.SavedModel
	mgs []*tfpb.MetaGraphDef
}

// Loads is nil when the loader loads the MetaGraph that tags select (nil:
// the loader's default, "serve"), the MetaGraph a `tfserve
// --saved_model_tags=...` server would serve; otherwise the loader's error,
// or the selection's error when no MetaGraph has those tags.
func (r *Report) Loads(tags []string) error {
	if r.sm == nil {
		return errors.New("no SavedModel inspected")
	}
	mg, err := savedmodel.MetaGraph(r.sm, tags)
	if err != nil {
		return err
	}
	for i, m := range r.mgs {
		if m == mg {
			return r.MetaGraphs[i].LoadError
		}
	}
	return errors.New("selected MetaGraph was not inspected")
}

// MetaGraphReport describes one MetaGraph.
type MetaGraphReport struct {
	Tags       []string
	TFVersion  string
	Signatures []SignatureReport
	// Ops maps each op reachable from any signature to whether tfserve
	// supports it.
	Ops map[string]bool
	// Err is set when the MetaGraph could not be translated.
	Err error
	// LoadError is nil when loader.Load, with the loader's default options
	// and this MetaGraph's tags, loads the MetaGraph; otherwise it is the
	// loader's error, or why the loader cannot select this MetaGraph (an
	// earlier one has the same tag-set).
	LoadError error
}

// Loads reports whether the loader loads the MetaGraph.
func (mg *MetaGraphReport) Loads() bool { return mg.LoadError == nil }

// SignatureReport describes one SignatureDef.
type SignatureReport struct {
	Name    string
	Method  string
	Inputs  []TensorReport
	Outputs []TensorReport
	// Ops reachable from the signature's outputs.
	Ops []string
}

// TensorReport is one input or output.
type TensorReport struct {
	Alias, Name string
	DType       tensor.DType
	Shape       tensor.Shape // nil: unknown rank
}

// Inspect reads dir and describes every MetaGraph. supported tells whether
// an op has a kernel. Each MetaGraph is also loaded by the loader (see
// MetaGraphReport.LoadError), which restores its variables and runs its
// init op as a server would.
func Inspect(dir string, supported func(op string) bool) (*Report, error) {
	sm, err := readModel(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{sm: sm, mgs: sm.MetaGraphs}
	for _, mg := range sm.MetaGraphs {
		mr := MetaGraphReport{Ops: map[string]bool{}}
		if mg.MetaInfoDef != nil {
			mr.Tags = mg.MetaInfoDef.Tags
			mr.TFVersion = mg.MetaInfoDef.TensorflowVersion
		}
		im, err := loader.ImportMetaGraph(dir, mg)
		for _, name := range slices.Sorted(maps.Keys(mg.SignatureDef)) {
			sd := mg.SignatureDef[name]
			sr := SignatureReport{Name: name, Method: sd.MethodName}
			for _, a := range slices.Sorted(maps.Keys(sd.Inputs)) {
				sr.Inputs = append(sr.Inputs, tensorReport(a, sd.Inputs[a]))
			}
			for _, a := range slices.Sorted(maps.Keys(sd.Outputs)) {
				sr.Outputs = append(sr.Outputs, tensorReport(a, sd.Outputs[a]))
			}
			if err == nil {
				sr.Ops = reachableOps(im, sd)
				for _, op := range sr.Ops {
					mr.Ops[op] = executorOps[op] || supported(op)
				}
			}
			mr.Signatures = append(mr.Signatures, sr)
		}
		mr.Err = err
		mr.LoadError = load(dir, sm, mg)
		rep.MetaGraphs = append(rep.MetaGraphs, mr)
	}
	return rep, nil
}

// quiet drops the loader's progress logs.
var quiet = slog.New(slog.DiscardHandler)

// load runs the loader on mg, selected by its tags as a server selects
// it, and returns the loader's error.
func load(dir string, sm *tfpb.SavedModel, mg *tfpb.MetaGraphDef) error {
	var tags []string
	if mg.MetaInfoDef != nil {
		tags = mg.MetaInfoDef.Tags
	}
	sel, err := savedmodel.MetaGraph(sm, tags)
	if err != nil {
		return err
	}
	if sel != mg {
		return fmt.Errorf("tag-set {%s} selects an earlier MetaGraph: the loader cannot select this one", strings.Join(tags, ","))
	}
	m, err := loader.Load(context.Background(), dir, loader.Options{Tags: tags, Logger: quiet})
	if err != nil {
		return err
	}
	return m.Close()
}

func tensorReport(alias string, ti *tfpb.TensorInfo) TensorReport {
	tr := TensorReport{Alias: alias, Name: ti.GetName(), DType: tensor.DType(ti.Dtype)}
	if ti.TensorShape != nil {
		tr.Shape = tensorproto.Shape(ti.TensorShape)
	}
	return tr
}

func reachableOps(im *loader.Imported, sd *tfpb.SignatureDef) []string {
	byName := map[string]*graph.Node{}
	for _, n := range im.Graph.Nodes {
		byName[n.Name] = n
	}
	ops := map[string]bool{}
	seenFn := map[string]bool{}
	var walk func(roots []*graph.Node)
	walk = func(roots []*graph.Node) {
		seen := map[*graph.Node]bool{}
		stack := append([]*graph.Node(nil), roots...)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == nil || seen[n] {
				continue
			}
			seen[n] = true
			if n.Op != graph.OpArg {
				ops[n.Op] = true
			}
			for _, f := range n.CalledFunctions(im.Library) {
				delete(ops, f)
				if seenFn[f] {
					continue
				}
				seenFn[f] = true
				if g, ok := im.Library[f]; ok {
					var r []*graph.Node
					for _, p := range g.Rets {
						r = append(r, p.Node)
					}
					r = append(r, g.ControlRets...)
					walk(r)
				}
			}
			for _, in := range n.Inputs {
				stack = append(stack, in.Node)
			}
			stack = append(stack, n.Control...)
		}
	}
	var roots []*graph.Node
	for _, ti := range sd.Outputs {
		name := ti.GetName()
		if i := strings.LastIndexByte(name, ':'); i >= 0 {
			name = name[:i]
		}
		if n := byName[name]; n != nil {
			roots = append(roots, n)
		}
	}
	walk(roots)
	out := make([]string, 0, len(ops))
	for op := range ops {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// Write prints the report in a saved_model_cli-like layout.
func (r *Report) Write(w io.Writer) {
	for _, mg := range r.MetaGraphs {
		fmt.Fprintf(w, "MetaGraphDef with tag-set: '%s' (TensorFlow %s) contains the following SignatureDefs:\n", strings.Join(mg.Tags, ", "), mg.TFVersion)
		for _, s := range mg.Signatures {
			fmt.Fprintf(w, "\nsignature_def['%s']:\n", s.Name)
			fmt.Fprintf(w, "  The given SavedModel SignatureDef contains the following input(s):\n")
			for _, t := range s.Inputs {
				writeTensor(w, "inputs", t)
			}
			fmt.Fprintf(w, "  The given SavedModel SignatureDef contains the following output(s):\n")
			for _, t := range s.Outputs {
				writeTensor(w, "outputs", t)
			}
			fmt.Fprintf(w, "  Method name is: %s\n", s.Method)
			if len(s.Ops) > 0 {
				var parts []string
				for _, op := range s.Ops {
					mark := ""
					if !mg.Ops[op] {
						mark = " (UNSUPPORTED)"
					}
					parts = append(parts, op+mark)
				}
				fmt.Fprintf(w, "  Reachable ops (%d): %s\n", len(s.Ops), strings.Join(parts, ", "))
			}
		}
		if mg.Err != nil {
			fmt.Fprintf(w, "\nError translating this MetaGraph: %v\n", mg.Err)
		} else {
			var unsupported []string
			for op, ok := range mg.Ops {
				if !ok {
					unsupported = append(unsupported, op)
				}
			}
			sort.Strings(unsupported)
			switch {
			case len(unsupported) > 0:
				fmt.Fprintf(w, "\nUnsupported ops (%d of %d reachable): %s\n", len(unsupported), len(mg.Ops), strings.Join(unsupported, ", "))
			case mg.LoadError != nil:
				// Every op has a kernel, yet the loader refuses the
				// MetaGraph (attributes, constant values, shapes).
				fmt.Fprintf(w, "\nAll %d reachable ops have tfserve kernels, but the loader rejects this MetaGraph.\n", len(mg.Ops))
			default:
				fmt.Fprintf(w, "\nAll %d reachable ops are supported by tfserve.\n", len(mg.Ops))
			}
		}
		if mg.LoadError != nil {
			fmt.Fprintf(w, "Loads: no — %v\n", mg.LoadError)
		} else {
			fmt.Fprintf(w, "Loads: yes\n")
		}
	}
}

func writeTensor(w io.Writer, kind string, t TensorReport) {
	shape := "unknown_rank"
	if t.Shape != nil {
		dims := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			dims[i] = fmt.Sprint(d)
		}
		shape = "(" + strings.Join(dims, ", ")
		if len(dims) == 1 {
			shape += ","
		}
		shape += ")"
	}
	fmt.Fprintf(w, "    %s['%s'] tensor_info:\n        dtype: %s\n        shape: %s\n        name: %s\n", kind, t.Alias, t.DType, shape, t.Name)
}

// readModel reads the SavedModel in dir or, for a version directory that
// holds a frozen GraphDef or a Keras 3 .keras file instead, the MetaGraph
// the loader makes of it (one "serve" MetaGraph), so that all are
// inspected alike.
func readModel(dir string) (*tfpb.SavedModel, error) {
	sm, err := savedmodel.Read(dir)
	if err == nil {
		return sm, nil
	}
	if mg, ok, ferr := loader.FrozenMetaGraph(dir, limits.Load{}); ok || ferr != nil {
		if ferr != nil {
			return nil, ferr
		}
		return &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}}, nil
	}
	path, ok, kerr := keras3.Find(dir)
	if kerr != nil || !ok {
		return nil, err
	}
	mg, kerr := keras3.ReadFile(path, keras3.Limits{})
	if kerr != nil {
		return nil, kerr
	}
	return &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}}, nil
}
