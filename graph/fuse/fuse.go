// Package fuse rewrites recognised Keras recurrent-layer functions into
// single fused ops. TensorFlow exports a Keras GRU (and LSTM) as a
// `standard_gru` function tagged `api_implements=gru_<uuid>` whose body
// runs a StatelessWhile loop over TensorList ops; Library replaces such a
// function's body with one _FusedGRU node that runs the whole sequence in a
// fused kernel (kernels/rnn). Registry supplies those kernels.
//
// Loops does the same for TF1 recurrent layers: the While loops that
// graph/functionalize makes of tf.nn.dynamic_rnn over a GRUCell,
// GRUBlockCell, BasicLSTMCell, LSTMCell or LSTMBlockCell run the fused
// kernels when the loop covers the whole input (an If picks the fused op
// or the original loop at run time).
//
// The unfused path stays available: a caller that skips Library and Loops
// runs the original loops op by op, and tests compare both.
//
// Models that opt in to bf16 weights (tfserve.json "precision": "bf16")
// get fused kernels built by RegistryWith(Options{BF16: true}) and, after
// constant folding, BF16MatMuls: their GRU, LSTM and Dense weights are
// stored in bfloat16 and multiplied by package kernels/bf16.
package fuse

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// Op names of the fused kernels.
const (
	OpGRU  = "_FusedGRU"
	OpLSTM = "_FusedLSTM"
)

// Report says what Library did.
type Report struct {
	Fused   []string          // functions rewritten
	Skipped map[string]string // function → why it was left alone
}

// Library rewrites, in place, every function of lib that implements a Keras
// GRU or LSTM in the standard (CPU) form it recognises.
func Library(lib graph.Library) Report {
	rep := Report{Skipped: map[string]string{}}
	names := make([]string, 0, len(lib))
	for n := range lib {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		g := lib[name]
		impl := g.Attrs.String("api_implements", "")
		dev := g.Attrs.String("api_preferred_device", "")
		var kind string
		switch {
		case strings.HasPrefix(impl, "gru_"):
			kind = OpGRU
		case strings.HasPrefix(impl, "lstm_"):
			kind = OpLSTM
		default:
			continue
		}
		if dev != "" && dev != "CPU" {
			rep.Skipped[name] = "preferred device " + dev
			continue
		}
		if err := rewrite(g, kind); err != nil {
			rep.Skipped[name] = err.Error()
			continue
		}
		rep.Fused = append(rep.Fused, name)
	}
	return rep
}

// rewrite checks the function's shape and replaces its body.
func rewrite(g *graph.Graph, kind string) error {
	wantArgs := 5 // inputs, init_h, kernel, recurrent_kernel, bias
	wantRets := 4 // last_output, outputs, new_h, runtime
	if kind == OpLSTM {
		wantArgs = 6 // inputs, init_h, init_c, kernel, recurrent_kernel, bias
		wantRets = 5 // last_output, outputs, new_h, new_c, runtime
	}
	if len(g.Args) != wantArgs {
		return fmt.Errorf("has %d arguments, want %d (masked variants run unfused)", len(g.Args), wantArgs)
	}
	if len(g.Rets) != wantRets {
		return fmt.Errorf("has %d results, want %d", len(g.Rets), wantRets)
	}
	for _, t := range g.ArgTypes {
		if t != tensor.Float32 {
			return fmt.Errorf("argument of type %v; only float32 is fused", t)
		}
	}
	ops := map[string]int{}
	var stack *graph.Node
	for _, n := range g.Nodes {
		ops[n.Op]++
		if n.Op == "TensorListStack" {
			stack = n
		}
	}
	if ops["StatelessWhile"]+ops["While"] != 1 || stack == nil {
		return fmt.Errorf("body is not a single TensorList while loop")
	}
	// The runtime result is a constant; keep it.
	runtime := g.Rets[wantRets-1]
	if runtime.Node.Op == "Identity" && len(runtime.Node.Inputs) == 1 {
		runtime = runtime.Node.Inputs[0]
	}
	if runtime.Node.Op != graph.OpConst {
		return fmt.Errorf("runtime result is %s, not a constant", runtime.Node.Op)
	}
	returnAll := stack.Attrs.Int("num_elements", -1) != 1
	attrs := kernels.Attrs{
		"go_backwards":         g.Attrs.Bool("go_backwards", false),
		"time_major":           g.Attrs.Bool("time_major", false),
		"return_all":           returnAll,
		"activation":           "tanh",
		"recurrent_activation": "sigmoid",
	}
	if kind == OpGRU {
		attrs["reset_after"] = true
	}
	fused := &graph.Node{Name: g.Name + "/fused", Op: kind, Attrs: attrs, Where: g.Name, NumOutputs: wantRets - 1}
	for _, a := range g.Args {
		fused.Inputs = append(fused.Inputs, graph.Port{Node: a})
	}
	nodes := append([]*graph.Node(nil), g.Args...)
	nodes = append(nodes, runtime.Node, fused)
	g.Nodes = nodes
	rets := make([]graph.Port, 0, wantRets)
	for i := 0; i < wantRets-1; i++ {
		rets = append(rets, graph.Port{Node: fused, Out: i})
	}
	g.Rets = append(rets, graph.Port{Node: runtime.Node, Out: runtime.Out})
	g.ControlRets = nil
	return nil
}
