// Package functionalize turns TensorFlow 1 control flow into the functional
// control flow tfserve's executor runs, as TensorFlow's own "functionalize
// control flow" pass (tf2xla) does.
//
// A TF1 graph (tf.while_loop, tf.nn.dynamic_rnn) spells a loop as a frame:
// Enter nodes carry values into the frame named by their frame_name
// attribute, each loop variable goes Enter → Merge → Switch (predicated on
// the frame's LoopCond) → Identity → body → NextIteration → back into the
// Merge, and Exit nodes hand the final values to the enclosing frame. Graph
// finds every frame (nested ones too), builds its cond and body as library
// functions and replaces the frame by one While node whose outputs feed
// what the Exits fed. Inner frames are rewritten first, so an outer body
// holds the inner loop as a While node.
//
// TF1 TensorArrays (TensorArrayV3 and its Read/Write/Gather/Scatter/Size/
// Concat/Close ops) are mutable resources whose "flow" scalar orders their
// uses. Where every use of an array is one of those ops, Graph rewrites the
// array to a TensorList value carried in the flow's place (as TF2's
// control flow does), so a loop carries the list itself and constant
// folding or concurrent requests cannot share a mutable array.
//
// A TF1 tf.cond (Switch nodes forwarding values into the branch their
// predicate picks, a Merge per output joining the two branches) becomes an
// If node with then/else library functions, inner conditionals first,
// after the loops: a loop inside a branch is a While node there, and a
// conditional inside a loop is copied into the loop's cond or body
// function, where it becomes an If (which then also runs the branch's
// effects as a control result of the body). Predicates are matched
// through Identity nodes, as tf.cond switches its pivots on pred and its
// values on Identity(pred).
//
// A frame that does not have the structure above, or a Merge that does
// not join the two branches of one predicate, fails with an error naming
// the node. Graph walks the graph iteratively, never recursing on its
// depth.
package functionalize
