// Package inspect describes a SavedModel the way `saved_model_cli show
// --all` does (MetaGraphs, signatures with dtypes and shapes) and adds what
// tfserve needs to know: the ops each signature reaches and whether tfserve
// has a kernel for each.
package inspect

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/proto/tfpb"
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
}

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
// an op has a kernel.
func Inspect(dir string, supported func(op string) bool) (*Report, error) {
	sm, err := savedmodel.Read(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
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
		rep.MetaGraphs = append(rep.MetaGraphs, mr)
	}
	return rep, nil
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
			continue
		}
		var unsupported []string
		for op, ok := range mg.Ops {
			if !ok {
				unsupported = append(unsupported, op)
			}
		}
		sort.Strings(unsupported)
		if len(unsupported) == 0 {
			fmt.Fprintf(w, "\nAll %d reachable ops are supported by tfserve.\n", len(mg.Ops))
		} else {
			fmt.Fprintf(w, "\nUnsupported ops (%d of %d reachable): %s\n", len(unsupported), len(mg.Ops), strings.Join(unsupported, ", "))
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
