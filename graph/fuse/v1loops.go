package fuse

import (
	"fmt"
	"sort"

	"github.com/tfserve/tfserve/graph"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/tensor"
)

// Loops fuses the TF1 GRU and LSTM loops of g and of lib's functions:
// While nodes (as graph/functionalize makes of tf.nn.dynamic_rnn's frames)
// whose body reads step t of an input TensorList, runs a cell on it and
// the state, writes h' at t of an output list and counts up to bounds.
// The cells are GRUCell (tf.nn.rnn_cell / tf.compat.v1: sigmoid gates over
// [x, h] split into r and u, an activation of the candidate over
// [x, r⊙h], h' = u⊙h + (1−u)⊙c), GRUBlockCell(V2), BasicLSTMCell and
// LSTMCell without peepholes, projection or clipping ([i, j, f, o] =
// split([x, h]·K + b), c' = c⊙σ(f + forget_bias) + σ(i)⊙a(j),
// h' = a(c')⊙σ(o)) and LSTMBlockCell likewise. With dynamic_rnn's
// sequence_length the body selects zero_output and the old state past each
// row's length; the fused op then takes the mask t < sequence_length[b]
// and outputs zeros there.
//
// The cell's weights must be constants; they are rearranged into a Keras
// layer for the fused kernel (GRU reset_after=False with gates z = u, r;
// LSTM gates i, f, c = j, o with the forget bias folded into the bias).
// Whether the loop runs exactly the input's steps from t = 0 depends on
// run-time values, so the While becomes an If on that condition: its then
// branch runs the fused op over the stacked input, its else branch the
// original loop, op by op. A loop that does not match keeps running op by
// op; Report.Skipped says why for each While.
func Loops(g *graph.Graph, lib graph.Library) Report {
	rep := Report{Skipped: map[string]string{}}
	names := make([]string, 0, len(lib))
	for n := range lib {
		names = append(names, n)
	}
	sort.Strings(names)
	graphs := []*graph.Graph{g}
	wheres := []string{""}
	for _, n := range names {
		graphs = append(graphs, lib[n])
		wheres = append(wheres, n)
	}
	for i, h := range graphs {
		if h == nil {
			continue
		}
		for _, w := range append([]*graph.Node(nil), h.Nodes...) {
			if w.Op != "While" && w.Op != "StatelessWhile" {
				continue
			}
			m, err := matchRNNLoop(w, lib)
			if err != nil {
				rep.Skipped[w.Name] = err.Error()
				continue
			}
			if err := m.rewrite(h, wheres[i], w, lib); err != nil {
				rep.Skipped[w.Name] = err.Error()
				continue
			}
			rep.Fused = append(rep.Fused, w.Name)
		}
	}
	return rep
}

// rnnLoop is what matchRNNLoop found; indices are loop variables.
type rnnLoop struct {
	nvars      int
	types      []tensor.DType
	time       int   // the step counter the lists are indexed by
	counters   []int // variables counting up by one
	bounds     [][2]int
	h, in, out int
	seqLen     int // sequence_length, or -1
	zero       int // zero_output, or -1
	lstm       bool
	c          int     // LSTM: the cell state
	forgetBias float32 // LSTM: added to the forget gate
	act        string
	k, r, b    *tensor.Tensor // Keras layout
	units      int
	wIdx       [4]int // gate kernel, gate bias, candidate kernel, candidate bias
}

// loopFn reads a While's function attribute.
func loopFn(w *graph.Node, attr string, lib graph.Library) (*graph.Graph, error) {
	ref, ok := w.Attrs[attr].(kernels.FuncRef)
	if !ok {
		return nil, fmt.Errorf("no %s function", attr)
	}
	f := lib[ref.Name]
	if f == nil {
		return nil, fmt.Errorf("%s function %s not in the library", attr, ref.Name)
	}
	return f, nil
}

// through follows Identity nodes (bounded).
func through(pt graph.Port) graph.Port {
	for i := 0; i < 64 && pt.Out == 0 && pt.Node.Op == "Identity" && len(pt.Node.Inputs) == 1; i++ {
		pt = pt.Node.Inputs[0]
	}
	return pt
}

// argIndex is the loop variable a port of a loop function reads (through
// Identity nodes), or -1.
func argIndex(f *graph.Graph, pt graph.Port) int {
	pt = through(pt)
	if pt.Node.Op != graph.OpArg {
		return -1
	}
	for i, a := range f.Args {
		if a == pt.Node {
			return i
		}
	}
	return -1
}

// constOf is the constant tensor at pt (through Identity nodes), or nil.
func constOf(pt graph.Port) *tensor.Tensor {
	pt = through(pt)
	if pt.Node.Op != graph.OpConst || pt.Out != 0 {
		return nil
	}
	t, _ := pt.Node.Attrs["value"].(*tensor.Tensor)
	return t
}

// isScalar says whether pt is the constant scalar v (float or int).
func isScalar(pt graph.Port, v float64) bool {
	t := constOf(pt)
	if t == nil || t.Len() != 1 {
		return false
	}
	switch d := t.Data.(type) {
	case []float32:
		return float64(d[0]) == v
	case []float64:
		return d[0] == v
	case []int32:
		return float64(d[0]) == v
	case []int64:
		return float64(d[0]) == v
	}
	return false
}

func isAdd(n *graph.Node) bool { return (n.Op == "Add" || n.Op == "AddV2") && len(n.Inputs) == 2 }

// matchRNNLoop checks a While's cond and body against the TF1 GRU and LSTM loops.
func matchRNNLoop(w *graph.Node, lib graph.Library) (*rnnLoop, error) {
	body, err := loopFn(w, "body", lib)
	if err != nil {
		return nil, err
	}
	cond, err := loopFn(w, "cond", lib)
	if err != nil {
		return nil, err
	}
	n := len(w.Inputs)
	if len(body.Args) != n || len(body.Rets) != n || len(cond.Args) != n || len(cond.Rets) != 1 || w.NumOutputs != n {
		return nil, fmt.Errorf("loop functions do not take and return its %d variables", n)
	}
	m := &rnnLoop{nvars: n, types: body.ArgTypes, time: -1, h: -1, in: -1, out: -1, seqLen: -1, zero: -1, c: -1}
	isCounter := make([]bool, n)
	for i, r := range body.Rets {
		if rn := r.Node; r.Out == 0 && isAdd(rn) {
			for j := 0; j < 2; j++ {
				if argIndex(body, rn.Inputs[j]) == i && isScalar(rn.Inputs[1-j], 1) {
					isCounter[i] = true
					m.counters = append(m.counters, i)
				}
			}
		}
	}
	invariant := func(i int) bool { return i >= 0 && argIndex(body, body.Rets[i]) == i }
	// The cond: a conjunction of counter < invariant.
	stack := []graph.Port{cond.Rets[0]}
	for len(stack) > 0 {
		pt := through(stack[len(stack)-1])
		stack = stack[:len(stack)-1]
		switch {
		case pt.Node.Op == "LogicalAnd" && len(pt.Node.Inputs) == 2 && len(stack) < n+2:
			stack = append(stack, pt.Node.Inputs...)
		case pt.Node.Op == "Less" && len(pt.Node.Inputs) == 2:
			c, b := argIndex(cond, pt.Node.Inputs[0]), argIndex(cond, pt.Node.Inputs[1])
			if c < 0 || !isCounter[c] || !invariant(b) {
				return nil, fmt.Errorf("loop condition %s is not counter < bound", pt.Node.Name)
			}
			m.bounds = append(m.bounds, [2]int{c, b})
		default:
			return nil, fmt.Errorf("loop condition reads %s (%s), not a conjunction of counter < bound", pt.Node.Name, pt.Node.Op)
		}
	}
	// The output write: out[t] = h'.
	var set *graph.Node
	for _, nd := range body.Nodes {
		if nd.Op == "TensorListSetItem" {
			if set != nil {
				return nil, fmt.Errorf("body writes two lists")
			}
			set = nd
		}
	}
	if set == nil || len(set.Inputs) != 3 {
		return nil, fmt.Errorf("body writes no TensorList")
	}
	m.out, m.time = argIndex(body, set.Inputs[0]), argIndex(body, set.Inputs[1])
	if m.out < 0 || body.Rets[m.out] != (graph.Port{Node: set}) || m.time < 0 || !isCounter[m.time] {
		return nil, fmt.Errorf("body's list write is not out[t] carried to the next step")
	}
	hNew := set.Inputs[2]
	if sel := through(hNew).Node; sel.Op == "Select" && len(sel.Inputs) == 3 {
		// dynamic_rnn with sequence_length: past a row's length the step
		// outputs zero_output and keeps the state:
		// out[t] = Select(t >= len, zero, h'), state = Select(t >= len, h, h').
		t, l := copyCond(body, sel.Inputs[0])
		m.zero, hNew = argIndex(body, sel.Inputs[1]), sel.Inputs[2]
		if t != m.time || !invariant(l) || !invariant(m.zero) {
			return nil, fmt.Errorf("the written value is not Select(t >= sequence_length, zero_output, h')")
		}
		m.seqLen = l
		for i, r := range body.Rets {
			rs := through(r).Node
			if rs.Op != "Select" || len(rs.Inputs) != 3 || through(rs.Inputs[2]) != through(hNew) || argIndex(body, rs.Inputs[1]) != i {
				continue
			}
			if t, l := copyCond(body, rs.Inputs[0]); t != m.time || l != m.seqLen {
				continue
			}
			if m.h >= 0 {
				return nil, fmt.Errorf("new state returned twice")
			}
			m.h = i
		}
	} else {
		for i, r := range body.Rets {
			if r == hNew {
				if m.h >= 0 {
					return nil, fmt.Errorf("new state returned twice")
				}
				m.h = i
			}
		}
	}
	if m.h < 0 || isCounter[m.h] {
		return nil, fmt.Errorf("the written value is not the carried state")
	}
	var x graph.Port
	var wp [4]graph.Port
	if x, wp, m.act, err = matchCell(body, hNew, m.h); err != nil {
		lc, lerr := matchLSTMCell(body, hNew, m.h)
		if lerr != nil {
			return nil, fmt.Errorf("%v; not an LSTM cell either: %v", err, lerr)
		}
		m.lstm, m.act, m.forgetBias, x = true, lc.act, lc.forgetBias, lc.x
		wp = [4]graph.Port{lc.kernel, lc.bias}
		// The cell state carried as c' (or, with sequence_length,
		// Select(t >= len, c, c')).
		for i, r := range body.Rets {
			ok := r == lc.cNew
			if rs := through(r).Node; m.seqLen >= 0 && rs.Op == "Select" && len(rs.Inputs) == 3 && through(rs.Inputs[2]) == through(lc.cNew) && argIndex(body, rs.Inputs[1]) == i {
				t, l := copyCond(body, rs.Inputs[0])
				ok = t == m.time && l == m.seqLen
			}
			if ok {
				if m.c >= 0 {
					return nil, fmt.Errorf("new cell state returned twice")
				}
				m.c = i
			}
		}
		if m.c < 0 || m.c != lc.cPrev || m.c == m.h || isCounter[m.c] {
			return nil, fmt.Errorf("the LSTM cell state is not carried to the next step")
		}
	}
	xn := x.Node
	if xn.Op != "TensorListGetItem" || len(xn.Inputs) < 2 || argIndex(body, xn.Inputs[1]) != m.time {
		return nil, fmt.Errorf("the cell's input is not in[t]")
	}
	if m.in = argIndex(body, xn.Inputs[0]); !invariant(m.in) {
		return nil, fmt.Errorf("the cell reads a list that changes in the loop")
	}
	for i, p := range wp {
		if p.Node == nil {
			m.wIdx[i] = -1
			continue
		}
		if m.wIdx[i] = argIndex(body, p); !invariant(m.wIdx[i]) {
			return nil, fmt.Errorf("a cell weight is not a loop invariant")
		}
	}
	if len(body.ControlRets) > 0 {
		return nil, fmt.Errorf("body has side effects")
	}
	for i := 0; i < n; i++ {
		if !isCounter[i] && i != m.h && i != m.c && i != m.out && !invariant(i) {
			return nil, fmt.Errorf("loop variable %d is neither a counter, the state, the output list nor an invariant", i)
		}
	}
	if len(m.types) != n {
		return nil, fmt.Errorf("body declares %d argument types for %d variables", len(m.types), n)
	}
	for _, c := range m.counters {
		if m.types[c] != tensor.Int32 {
			return nil, fmt.Errorf("counter %d is not int32", c)
		}
	}
	if m.zero >= 0 && !isZeros(w.Inputs[m.zero]) {
		return nil, fmt.Errorf("zero_output %s is not zeros", w.Inputs[m.zero].Node.Name)
	}
	if m.seqLen >= 0 && m.types[m.seqLen] != tensor.Int32 {
		return nil, fmt.Errorf("sequence_length is not int32")
	}
	if err := m.weights(w); err != nil {
		return nil, err
	}
	return m, nil
}

// copyCond matches dynamic_rnn's copy condition GreaterEqual(time, len)
// and returns the two loop variables (-1 when it does not match).
func copyCond(body *graph.Graph, pt graph.Port) (t, l int) {
	n := through(pt).Node
	if n.Op != "GreaterEqual" || len(n.Inputs) != 2 {
		return -1, -1
	}
	return argIndex(body, n.Inputs[0]), argIndex(body, n.Inputs[1])
}

// isZeros says whether pt is a constant of zeros or Fill(dims, 0).
func isZeros(pt graph.Port) bool {
	pt = through(pt)
	if pt.Node.Op == "Fill" && len(pt.Node.Inputs) == 2 {
		return isScalar(pt.Node.Inputs[1], 0)
	}
	t := constOf(pt)
	if t == nil || t.DType != tensor.Float32 {
		return false
	}
	for _, v := range t.F32() {
		if v != 0 {
			return false
		}
	}
	return true
}

// cellActs maps the candidate activations the fused kernel runs to their
// Keras names.
var cellActs = map[string]string{"Tanh": "tanh", "Relu": "relu", "Sigmoid": "sigmoid", "Relu6": "relu6", "Elu": "elu",
	"Selu": "selu", "Softplus": "softplus", "Softsign": "softsign"}

// matchCell matches h' (a port of body) against GRUCell or GRUBlockCell
// on state variable h: it returns the step input and the ports of the gate
// kernel, gate bias, candidate kernel and candidate bias.
func matchCell(body *graph.Graph, hNew graph.Port, h int) (x graph.Port, w [4]graph.Port, act string, err error) {
	isH := func(pt graph.Port) bool { return argIndex(body, pt) == h }
	hn := through(hNew).Node
	if hn.Op == "GRUBlockCell" || hn.Op == "GRUBlockCellV2" {
		if through(hNew).Out != 3 || len(hn.Inputs) != 6 || !isH(hn.Inputs[1]) {
			return x, w, "", fmt.Errorf("GRUBlockCell's h output does not feed the state")
		}
		return through(hn.Inputs[0]), [4]graph.Port{hn.Inputs[2], hn.Inputs[4], hn.Inputs[3], hn.Inputs[5]}, "tanh", nil
	}
	fail := fmt.Errorf("the new state is not a GRUCell's u⊙h + (1−u)⊙c")
	if !isAdd(hn) {
		return x, w, "", fail
	}
	// gates: Split(dim, Sigmoid(BiasAdd(MatMul(Concat(x, h), Kg), bg))).
	gates := func(pt graph.Port) (*graph.Node, bool) {
		pt = through(pt)
		sp := pt.Node
		if sp.Op != "Split" || len(sp.Inputs) != 2 || sp.NumOutputs != 2 || !(isScalar(sp.Inputs[0], 1) || isScalar(sp.Inputs[0], -1)) {
			return nil, false
		}
		return sp, true
	}
	// u⊙h, either order.
	var split *graph.Node
	var other graph.Port
	for j := 0; j < 2 && split == nil; j++ {
		mul := through(hn.Inputs[j]).Node
		if mul.Op != "Mul" || len(mul.Inputs) != 2 {
			continue
		}
		for k := 0; k < 2; k++ {
			if sp, ok := gates(mul.Inputs[k]); ok && through(mul.Inputs[k]).Out == 1 && isH(mul.Inputs[1-k]) {
				split, other = sp, hn.Inputs[1-j]
				break
			}
		}
	}
	if split == nil {
		return x, w, "", fail
	}
	// (1−u)⊙c.
	mul := through(other).Node
	var c graph.Port
	found := false
	if mul.Op == "Mul" && len(mul.Inputs) == 2 {
		for k := 0; k < 2; k++ {
			sub := through(mul.Inputs[k]).Node
			if sub.Op == "Sub" && len(sub.Inputs) == 2 && isScalar(sub.Inputs[0], 1) && through(sub.Inputs[1]) == (graph.Port{Node: split, Out: 1}) {
				c, found = mul.Inputs[1-k], true
				break
			}
		}
	}
	if !found {
		return x, w, "", fail
	}
	// Gates: Sigmoid(BiasAdd(MatMul(Concat(x, h), Kg), bg)).
	sig := through(split.Inputs[1]).Node
	if sig.Op != "Sigmoid" {
		return x, w, "", fmt.Errorf("the gates are not a sigmoid")
	}
	xg, kg, bg, ok := denseOfConcat(sig.Inputs[0], func(pt graph.Port) bool { return isH(pt) })
	if !ok {
		return x, w, "", fmt.Errorf("the gates are not [x, h]·kernel + bias")
	}
	an := through(c).Node
	act, ok = cellActs[an.Op]
	if !ok || len(an.Inputs) != 1 {
		return x, w, "", fmt.Errorf("candidate activation %s is not fused", an.Op)
	}
	// Candidate: act(BiasAdd(MatMul(Concat(x, r⊙h), Kc), bc)), r = split:0.
	isRH := func(pt graph.Port) bool {
		m := through(pt).Node
		if m.Op != "Mul" || len(m.Inputs) != 2 {
			return false
		}
		for k := 0; k < 2; k++ {
			if through(m.Inputs[k]) == (graph.Port{Node: split, Out: 0}) && isH(m.Inputs[1-k]) {
				return true
			}
		}
		return false
	}
	xc, kc, bc, ok := denseOfConcat(an.Inputs[0], isRH)
	if !ok || through(xc) != through(xg) {
		return x, w, "", fmt.Errorf("the candidate is not [x, r⊙h]·kernel + bias")
	}
	return through(xg), [4]graph.Port{kg, bg, kc, bc}, act, nil
}

// lstmCell is what matchLSTMCell found.
type lstmCell struct {
	x, kernel, bias graph.Port
	cNew            graph.Port
	cPrev           int
	act             string
	forgetBias      float32
}

// matchLSTMCell matches h' against TF1's BasicLSTMCell/LSTMCell (no
// peepholes, projection or clipping: [i, j, f, o] = split([x, h]·K + b),
// c' = c⊙σ(f + forget_bias) + σ(i)⊙a(j), h' = a(c')⊙σ(o)) or an
// LSTMBlockCell's h output, on state variable h.
func matchLSTMCell(body *graph.Graph, hNew graph.Port, h int) (lc lstmCell, err error) {
	isH := func(pt graph.Port) bool { return argIndex(body, pt) == h }
	hp := through(hNew)
	hn := hp.Node
	if hn.Op == "LSTMBlockCell" {
		if hp.Out != 6 || len(hn.Inputs) != 8 || !isH(hn.Inputs[2]) {
			return lc, fmt.Errorf("LSTMBlockCell's h output does not feed the state")
		}
		if hn.Attrs.Bool("use_peephole", false) || hn.Attrs.Float("cell_clip", 3) > 0 {
			return lc, fmt.Errorf("LSTMBlockCell with peepholes or cell_clip is not fused")
		}
		return lstmCell{x: through(hn.Inputs[0]), kernel: hn.Inputs[3], bias: hn.Inputs[7], cNew: graph.Port{Node: hn, Out: 1},
			cPrev: argIndex(body, hn.Inputs[1]), act: "tanh", forgetBias: hn.Attrs.Float("forget_bias", 1)}, nil
	}
	fail := fmt.Errorf("the new state is not an LSTM cell's a(c')⊙σ(o)")
	// pair calls f on a binary node's inputs in both orders.
	pair := func(n *graph.Node, op string, f func(a, b graph.Port) bool) bool {
		if n.Op != op || len(n.Inputs) != 2 {
			return false
		}
		return f(n.Inputs[0], n.Inputs[1]) || f(n.Inputs[1], n.Inputs[0])
	}
	var split *graph.Node
	gate := func(pt graph.Port, k int) bool { // σ(split:k)
		s := through(pt).Node
		if s.Op != "Sigmoid" || len(s.Inputs) != 1 {
			return false
		}
		g := through(s.Inputs[0])
		if g.Out != k || g.Node.Op != "Split" || g.Node.NumOutputs != 4 || len(g.Node.Inputs) != 2 {
			return false
		}
		if split == nil {
			split = g.Node
		}
		return g.Node == split
	}
	var cNew graph.Port
	act := ""
	actOf := func(pt graph.Port) (graph.Port, bool) { // a(v): v
		n := through(pt).Node
		a, ok := cellActs[n.Op]
		if !ok || len(n.Inputs) != 1 || act != "" && a != act {
			return graph.Port{}, false
		}
		act = a
		return n.Inputs[0], true
	}
	if !pair(hn, "Mul", func(a, b graph.Port) bool {
		saved := act
		v, ok := actOf(a)
		if ok && gate(b, 3) {
			cNew = v
			return true
		}
		act = saved // σ(o) read as the activation in the other order
		return false
	}) {
		return lc, fail
	}
	// c' = c⊙σ(f + fb) + σ(i)⊙a(j).
	cPrev := -1
	var fb float32
	forget := func(a, b graph.Port) bool { // c ⊙ σ(f + fb)
		s := through(b).Node
		if s.Op != "Sigmoid" || len(s.Inputs) != 1 {
			return false
		}
		f := through(s.Inputs[0])
		if f.Node == split && f.Out == 2 {
			fb = 0
		} else if !pair(f.Node, "Add", func(p, q graph.Port) bool {
			t := constOf(q)
			if tp := through(p); tp.Node != split || tp.Out != 2 || t == nil || t.Len() != 1 || t.DType != tensor.Float32 {
				return false
			}
			fb = t.F32()[0]
			return true
		}) && !pair(f.Node, "AddV2", func(p, q graph.Port) bool {
			t := constOf(q)
			if tp := through(p); tp.Node != split || tp.Out != 2 || t == nil || t.Len() != 1 || t.DType != tensor.Float32 {
				return false
			}
			fb = t.F32()[0]
			return true
		}) {
			return false
		}
		cPrev = argIndex(body, a)
		return cPrev >= 0
	}
	input := func(a, b graph.Port) bool { // σ(i) ⊙ a(j)
		v, ok := actOf(b)
		tv := through(v)
		return ok && gate(a, 0) && tv.Node == split && tv.Out == 1
	}
	cn := through(cNew).Node
	sum := func(a, b graph.Port) bool {
		return pair(through(a).Node, "Mul", forget) && pair(through(b).Node, "Mul", input)
	}
	if !pair(cn, "Add", sum) && !pair(cn, "AddV2", sum) {
		return lc, fmt.Errorf("the new cell state is not c⊙σ(f + forget_bias) + σ(i)⊙a(j)")
	}
	if !isScalar(split.Inputs[0], 1) && !isScalar(split.Inputs[0], -1) {
		return lc, fmt.Errorf("the gates are not split on axis 1")
	}
	x, k, b, ok := denseOfConcat(split.Inputs[1], isH)
	if !ok {
		return lc, fmt.Errorf("the gates are not [x, h]·kernel + bias")
	}
	return lstmCell{x: through(x), kernel: k, bias: b, cNew: cNew, cPrev: cPrev, act: act, forgetBias: fb}, nil
}

// lstmWeights reads an LSTM cell's constant kernel [I+U, 4U] and bias
// [4U] (gates i, j, f, o) and rearranges them for a Keras LSTM: kernel
// [I, 4U] and recurrent kernel [U, 4U] in gate order i, f, c (= j), o;
// the forget bias is folded into the bias.
func (m *rnnLoop) lstmWeights(w *graph.Node) error {
	kt, bt := constOf(w.Inputs[m.wIdx[0]]), constOf(w.Inputs[m.wIdx[1]])
	if kt == nil || bt == nil || kt.DType != tensor.Float32 || bt.DType != tensor.Float32 {
		return fmt.Errorf("LSTM weights are not float32 constants")
	}
	if len(bt.Shape) != 1 || len(kt.Shape) != 2 || bt.Shape[0]%4 != 0 {
		return fmt.Errorf("LSTM weights of shapes %v %v", kt.Shape, bt.Shape)
	}
	u := bt.Shape[0] / 4
	rows := kt.Shape[0]
	if u <= 0 || rows <= u || kt.Shape[1] != 4*u {
		return fmt.Errorf("LSTM weights of shapes %v %v do not make an LSTM", kt.Shape, bt.Shape)
	}
	in := rows - u
	order := [4]int{0, 2, 1, 3} // Keras block g ← TF block order[g]
	k := kt.F32()
	pack := func(lo, n int) *tensor.Tensor {
		out := make([]float32, n*4*u)
		for i := 0; i < n; i++ {
			src := k[(lo+i)*4*u : (lo+i+1)*4*u]
			for g, tfb := range order {
				copy(out[i*4*u+g*u:i*4*u+(g+1)*u], src[tfb*u:(tfb+1)*u])
			}
		}
		return tensor.FromSlice(tensor.Shape{n, 4 * u}, out)
	}
	m.k, m.r = pack(0, in), pack(in, u)
	b := make([]float32, 4*u)
	for g, tfb := range order {
		copy(b[g*u:(g+1)*u], bt.F32()[tfb*u:(tfb+1)*u])
	}
	for j := u; j < 2*u; j++ {
		b[j] += m.forgetBias
	}
	m.b = tensor.FromSlice(tensor.Shape{4 * u}, b)
	m.units = u
	return nil
}

// denseOfConcat matches BiasAdd(MatMul(ConcatV2(x, s, axis 1), k), b)
// where second(s) holds.
func denseOfConcat(pt graph.Port, second func(graph.Port) bool) (x, k, b graph.Port, ok bool) {
	ba := through(pt).Node
	if ba.Op != "BiasAdd" || len(ba.Inputs) != 2 {
		return x, k, b, false
	}
	mm := through(ba.Inputs[0]).Node
	if mm.Op != "MatMul" || len(mm.Inputs) != 2 || mm.Attrs.Bool("transpose_a", false) || mm.Attrs.Bool("transpose_b", false) {
		return x, k, b, false
	}
	cc := through(mm.Inputs[0]).Node
	if cc.Op != "ConcatV2" || len(cc.Inputs) != 3 || !(isScalar(cc.Inputs[2], 1) || isScalar(cc.Inputs[2], -1)) || !second(cc.Inputs[1]) {
		return x, k, b, false
	}
	return cc.Inputs[0], mm.Inputs[1], ba.Inputs[1], true
}

// weights reads the cell's constant weights (the While's inputs) and
// rearranges them for a Keras reset_after=False GRU: kernel [I, 3U] and
// recurrent kernel [U, 3U] in gate order z (= u), r, h; bias [3U].
func (m *rnnLoop) weights(w *graph.Node) error {
	if m.lstm {
		return m.lstmWeights(w)
	}
	var ts [4]*tensor.Tensor
	for i, idx := range m.wIdx {
		if ts[i] = constOf(w.Inputs[idx]); ts[i] == nil || ts[i].DType != tensor.Float32 {
			return fmt.Errorf("cell weight %s is not a float32 constant", w.Inputs[idx].Node.Name)
		}
	}
	kg, bg, kc, bc := ts[0], ts[1], ts[2], ts[3]
	if len(bc.Shape) != 1 || len(kg.Shape) != 2 || len(kc.Shape) != 2 || len(bg.Shape) != 1 {
		return fmt.Errorf("cell weights of shapes %v %v %v %v", kg.Shape, bg.Shape, kc.Shape, bc.Shape)
	}
	u := bc.Shape[0]
	rows := kc.Shape[0]
	if u <= 0 || rows <= u || !kc.Shape.Equal(tensor.Shape{rows, u}) || !kg.Shape.Equal(tensor.Shape{rows, 2 * u}) || bg.Shape[0] != 2*u {
		return fmt.Errorf("cell weights of shapes %v %v %v %v do not make a GRU", kg.Shape, bg.Shape, kc.Shape, bc.Shape)
	}
	in := rows - u
	g, c := kg.F32(), kc.F32()
	// row copies [z | r | h] of concat-kernel row i.
	pack := func(lo, n int) *tensor.Tensor {
		out := make([]float32, n*3*u)
		for i := 0; i < n; i++ {
			src := lo + i
			dst := out[i*3*u : (i+1)*3*u]
			copy(dst[0:u], g[src*2*u+u:src*2*u+2*u])
			copy(dst[u:2*u], g[src*2*u:src*2*u+u])
			copy(dst[2*u:], c[src*u:(src+1)*u])
		}
		return tensor.FromSlice(tensor.Shape{n, 3 * u}, out)
	}
	m.k, m.r = pack(0, in), pack(in, u)
	b := make([]float32, 3*u)
	copy(b[0:u], bg.F32()[u:2*u])
	copy(b[u:2*u], bg.F32()[0:u])
	copy(b[2*u:], bc.F32())
	m.b = tensor.FromSlice(tensor.Shape{3 * u}, b)
	m.units = u
	return nil
}

// rewrite turns w (in h, whose nodes sit in where) into an If on "the loop
// runs exactly the input's steps from t = 0", fused when it does.
func (m *rnnLoop) rewrite(h *graph.Graph, where string, w *graph.Node, lib graph.Library) error {
	base := graph.SanitizeName(w.Name)
	i32 := map[string]any{"T": tensor.Int32}
	taken := make(map[string]bool, len(h.Nodes))
	for _, n := range h.Nodes {
		taken[n.Name] = true
	}
	var k int
	node := func(g *graph.Graph, wh, op string, attrs kernels.Attrs, nout int, in ...graph.Port) graph.Port {
		name := ""
		for name == "" || taken[name] {
			k++
			name = fmt.Sprintf("%s/fused_gru/%s_%d", w.Name, op, k)
		}
		taken[name] = true
		if attrs == nil {
			attrs = kernels.Attrs{}
		}
		return graph.Port{Node: g.AddNode(&graph.Node{Name: name, Op: op, Attrs: attrs, Inputs: in, NumOutputs: nout, Where: wh})}
	}
	cnst := func(g *graph.Graph, wh string, t *tensor.Tensor) graph.Port {
		return node(g, wh, graph.OpConst, kernels.Attrs{"value": t, "dtype": t.DType}, 1)
	}
	// The condition, beside w.
	steps := node(h, where, "TensorListLength", nil, 1, w.Inputs[m.in])
	ok := node(h, where, "Greater", i32, 1, steps, cnst(h, where, tensor.Scalar(int32(0))))
	and := func(p graph.Port) { ok = node(h, where, "LogicalAnd", nil, 1, ok, p) }
	and(node(h, where, "Equal", kernels.Attrs{"T": tensor.Int32, "incompatible_shape_error": true}, 1, w.Inputs[m.time], cnst(h, where, tensor.Scalar(int32(0)))))
	and(node(h, where, "Equal", kernels.Attrs{"T": tensor.Int32, "incompatible_shape_error": true}, 1, node(h, where, "TensorListLength", nil, 1, w.Inputs[m.out]), steps))
	var iters graph.Port
	for j, bd := range m.bounds {
		left := node(h, where, "Sub", i32, 1, w.Inputs[bd[1]], w.Inputs[bd[0]])
		if j == 0 {
			iters = left
		} else {
			iters = node(h, where, "Minimum", i32, 1, iters, left)
		}
	}
	and(node(h, where, "Equal", kernels.Attrs{"T": tensor.Int32, "incompatible_shape_error": true}, 1, iters, steps))

	args := func(f *graph.Graph) {
		for i := 0; i < m.nvars; i++ {
			a := &graph.Node{Name: fmt.Sprintf("arg_%d", i), Op: graph.OpArg, NumOutputs: 1, Where: f.Name,
				Attrs: kernels.Attrs{"index": int64(i), "T": m.types[i]}}
			f.Args = append(f.Args, a)
			f.ArgTypes = append(f.ArgTypes, m.types[i])
			f.AddNode(a)
		}
	}
	// Else: the loop as it was.
	elseName := lib.UniqueName(base + "_loop")
	ef := &graph.Graph{Name: elseName}
	args(ef)
	loop := ef.AddNode(&graph.Node{Name: w.Name, Op: w.Op, Attrs: w.Attrs, NumOutputs: w.NumOutputs, Where: elseName})
	for _, a := range ef.Args {
		loop.Inputs = append(loop.Inputs, graph.Port{Node: a})
	}
	for i := 0; i < m.nvars; i++ {
		ef.Rets = append(ef.Rets, graph.Port{Node: loop, Out: i})
	}
	ef.RetTypes = m.types
	// Then: the fused layer.
	thenName := lib.UniqueName(base + "_fused")
	tf := &graph.Graph{Name: thenName}
	args(tf)
	arg := func(i int) graph.Port { return graph.Port{Node: tf.Args[i]} }
	unknown := cnst(tf, thenName, tensor.Scalar(int32(-1)))
	x := node(tf, thenName, "TensorListStack", kernels.Attrs{"element_dtype": tensor.Float32, "num_elements": int64(-1)}, 1, arg(m.in), unknown)
	tSteps := node(tf, thenName, "TensorListLength", nil, 1, arg(m.in))
	fin := []graph.Port{x, arg(m.h), cnst(tf, thenName, m.k), cnst(tf, thenName, m.r), cnst(tf, thenName, m.b)}
	fattrs := kernels.Attrs{"go_backwards": false, "time_major": true, "return_all": true, "activation": m.act, "recurrent_activation": "sigmoid"}
	if m.seqLen >= 0 {
		// Step t of row b is real while t < sequence_length[b]; masked
		// steps keep the state and output zeros, as the Selects do.
		steps := node(tf, thenName, "Range", kernels.Attrs{"Tidx": tensor.Int32}, 1, cnst(tf, thenName, tensor.Scalar(int32(0))), tSteps, cnst(tf, thenName, tensor.Scalar(int32(1))))
		col := node(tf, thenName, "ExpandDims", kernels.Attrs{"T": tensor.Int32, "Tdim": tensor.Int32}, 1, steps, cnst(tf, thenName, tensor.Scalar(int32(1))))
		row := node(tf, thenName, "ExpandDims", kernels.Attrs{"T": tensor.Int32, "Tdim": tensor.Int32}, 1, arg(m.seqLen), cnst(tf, thenName, tensor.Scalar(int32(0))))
		fin = append(fin, node(tf, thenName, "Less", i32, 1, col, row)) // [T, B], time-major as x
		fattrs["zero_output_for_mask"] = true
	}
	op, nout := OpGRU, 3
	if m.lstm {
		op, nout = OpLSTM, 4
		fin = append(fin[:2:2], append([]graph.Port{arg(m.c)}, fin[2:]...)...)
	}
	fused := node(tf, thenName, op, fattrs, nout, fin...)
	rets := make([]graph.Port, m.nvars)
	for i := range rets {
		rets[i] = arg(i)
	}
	for _, c := range m.counters {
		rets[c] = node(tf, thenName, "AddV2", i32, 1, arg(c), tSteps)
	}
	rets[m.h] = graph.Port{Node: fused.Node, Out: 2}
	if m.lstm {
		rets[m.c] = graph.Port{Node: fused.Node, Out: 3}
	}
	rets[m.out] = node(tf, thenName, "TensorListFromTensor", kernels.Attrs{"element_dtype": tensor.Float32, "shape_type": tensor.Int32}, 1,
		graph.Port{Node: fused.Node, Out: 1}, unknown)
	tf.Rets, tf.RetTypes = rets, m.types
	lib[elseName], lib[thenName] = ef, tf

	w.Op = "If"
	w.Inputs = append([]graph.Port{ok}, w.Inputs...)
	w.Attrs = kernels.Attrs{"Tcond": tensor.Bool, "Tin": m.types, "Tout": m.types,
		"then_branch": kernels.FuncRef{Name: thenName}, "else_branch": kernels.FuncRef{Name: elseName}}
	return nil
}
