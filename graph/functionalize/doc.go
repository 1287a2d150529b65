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
// A frame that does not have the structure above, or a v1 conditional
// (Switch/Merge outside a loop's structure), fails with an error naming the
// node. Graph walks the graph iteratively, never recursing on its depth.
package functionalize
