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
// return_sequences, return_state, go_backwards), LSTM, Bidirectional
// (concat, sum, mul, ave, none), Embedding (without mask_zero), Flatten,
// Reshape, Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum,
// LayerNormalization and BatchNormalization on the last axis. Anything
// else (other layer classes, masks, nested models, stateful layers, non-
// float32 dtype policies) fails the load with a message naming it.
package keras3
