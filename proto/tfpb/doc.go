// Package tfpb holds Go code generated (by `make proto`) from tfserve's own
// minimal .proto schemas for TensorFlow's protos under proto/tensorflow/:
// SavedModel, MetaGraphDef, GraphDef, NodeDef, FunctionDef, AttrValue,
// TensorProto, the object graphs, tf.Example and error codes. Field numbers
// follow TensorFlow; messages list only the fields tfserve uses (others are
// kept as unknown fields).
package tfpb
