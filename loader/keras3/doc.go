// Package keras3 loads Keras 3 `.keras` files: the zip of config.json,
// metadata.json and model.weights.h5 that `model.save("m.keras")` writes
// (and MLflow's Keras 3 flavor stores). Translate turns the layer config
// and the weights into a MetaGraph the loader imports like a SavedModel's,
// with the signature Keras 3's `model.export()` would write
// (serving_default; inputs named after the input layers; outputs
// output_0, output_1, ...); GRU and LSTM layers become the fused recurrent
// ops of graph/fuse, weights become constants.
//
// Supported: Sequential and Functional models of InputLayer, Dense (every
// Keras 3 activation listed in activation), Activation, Dropout and the
// other inference-time identities, GRU (reset_after both ways,
// return_sequences, return_state, go_backwards, zero_output_for_mask),
// LSTM, Bidirectional (concat, sum, mul, ave, none; return_state gives the
// merged output, then the forward and the backward states), Embedding (mask_zero
// too), Masking, Flatten, Reshape, Concatenate, Add, Subtract, Multiply,
// Average, Maximum, Minimum, LayerNormalization and BatchNormalization on
// the last axis; and Sequential or Functional models used as layers of
// another (nested up to 16 deep; their weights under the layer's group,
// "layers/sequential/layers/dense/vars/0", as Keras 3 saves them).
//
// Masks follow Keras 3: Masking and Embedding(mask_zero=True) make one;
// Dense, Activation, the normalizations and the identities pass it on;
// GRU, LSTM and Bidirectional read it (the fused op's mask input: a masked
// step keeps the state and repeats the previous output, zeros before the
// first real step, or outputs zeros with zero_output_for_mask, which
// Bidirectional forces to return_sequences) and pass it on with their
// sequences; Flatten and Reshape drop it, as Keras 3 does for layers that
// do not support masking. A mask reaching any other layer (the merges,
// Concatenate) fails the load naming the layer. The semantics are those
// of Keras's generic (CPU) RNN loop, not cuDNN's.
//
// Anything else (other layer classes, stateful layers, non-float32 dtype
// policies) fails the load with a message naming it.
package keras3
