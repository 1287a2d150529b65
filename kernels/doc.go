// Package kernels holds tfserve's CPU compute kernels: one Go implementation
// per TensorFlow op that the loader translates, looked up by TF op name.
//
// A kernel is built once per graph node at load time (Builder), which checks
// and decodes the node's attributes, and then run many times concurrently
// (Func). Funcs must not keep state between runs and must not modify their
// inputs. Of tfserve, kernels imports only tensor and its own subpackages
// (gemm: SGEMM; rnn: fused GRU/LSTM and vectorized float32 loops), never
// graph, loader or server.
//
// # Registry
//
// registry.go maps each TF op name to its Builder (buildRegistry, one line
// per op, grouped like the files below). Lookup(op) returns that Builder
// wrapped so that its Funcs check that their inputs hold the data their dtype
// and shape promise and turn a panic into an error naming the op; Supported
// lists the names. Adding a kernel: write its Builder in its family's file,
// add its line to buildRegistry, test it in the family's _test.go (and
// registry_test.go feeds every registered op odd inputs).
//
// # Files
//
// One op family per file; foo_test.go tests foo.go.
//
//   - The contract and shared code: kernel.go (Builder, Func, Attrs,
//     Context, Error), registry.go, helpers.go (input, attribute and size
//     checks; dtype helpers; noKernel), broadcast.go (numpy broadcasting),
//     movers.go (typed element copies and strided views).
//   - Elementwise: arith.go (binary arithmetic, AddN), compare.go
//     (comparisons, logical ops, IsNan/IsInf/IsFinite), unary.go (unary math
//     and activations), cast.go, select.go (Select, SelectV2), clip.go
//     (ClipByValue).
//   - Reductions: reduce.go (Sum, Mean, Max, Min, Prod, All, Any), argmax.go
//     (ArgMax, ArgMin), scan.go (Cumsum, Cumprod), topk.go (TopKV2).
//   - Neural nets: matmul.go (MatMul, BatchMatMul*), einsum.go, conv.go
//     (Conv2D, DepthwiseConv2dNative), pool.go (MaxPool, AvgPool), window.go
//     (window geometry shared by conv and pool), bias_add.go, softmax.go
//     (Softmax, LogSoftmax).
//   - Shapes and arrays: shape.go (Shape, Reshape, ExpandDims, Squeeze,
//     BroadcastTo, EnsureShape, ...), identity.go (Identity family, Const,
//     NoOp), transpose.go (Transpose, InvertPermutation), concat.go (Concat*,
//     ConcatOffset, Pack), split.go (Split, SplitV, Unpack), slice.go,
//     strided_slice.go, tile.go, reverse.go, pad.go (Pad, PadV2, MirrorPad),
//     fill.go (Fill, ZerosLike, OnesLike, Empty), range.go, gather.go
//     (GatherV2, Gather, GatherNd), onehot.go, where.go, unique.go.
//   - Strings and files: strings.go, files.go (ReadFile, ShardedFilename).
//   - Examples: parse_example.go (ParseExample, ParseExampleV2),
//     example_wire.go (tf.Example wire decoding).
//   - Resources: variables.go, lookup.go (hash tables), lists.go
//     (TensorList), tensor_array.go (TF1 TensorArray).
//   - Other: control.go (Assert, CheckNumerics), random.go.
//
// # Conventions
//
// Kernels follow TF's semantics: numpy broadcasting for binary ops, TF's
// dtype rules (no implicit promotion: both operands of a binary op share a
// dtype), negative axes, and TF-like InvalidArgument messages returned as
// *Error. Builders check attributes at load time and return errors naming
// the op; Funcs built through Lookup validate their inputs' Data against
// DType and Shape and never panic.
//
// Values that are not numbers travel in tensors as follows:
//
//   - Variables: a DT_RESOURCE scalar whose Data is []any{*Variable}
//     (NewVariable, VariableTensor). A variable's value is replaced on
//     assignment, never modified in place, so a tensor obtained from
//     ReadVariableOp stays valid. ReadVariableOp, AssignVariableOp,
//     AssignAdd/SubVariableOp, VarIsInitializedOp and ResourceGather take the
//     handle; TF1's Assign, AssignAdd and AssignSub take the same handle as
//     their ref input and return the new value.
//   - Lookup tables: a DT_RESOURCE scalar holding []any{*HashTable}
//     (NewHashTable, HashTableTensor). HashTableV2/MutableHashTableV2 create
//     an empty table per run, so executors run them once at load time and
//     reuse the handle. LookupTableImportV2, InitializeTableV2 and
//     InitializeTableFromTextFileV2 fill the table they are given (the only
//     kernels, with the Assign family, that mutate an input, and only its
//     resource object).
//   - TensorLists: a DT_VARIANT scalar holding []any{*TensorList}
//     (TensorListTensor). List kernels never modify their input list: they
//     return a new list sharing the (immutable) item tensors.
//
// Outputs may share Data with inputs: Identity-like ops, Reshape,
// ExpandDims, Squeeze, single-input Concat, whole-tensor Slice and
// StridedSlice, BroadcastTo to the same shape, Cast to the same type and
// ReadVariableOp return their input (or a view of it), and Const returns its
// attribute tensor on every run. Executors that recycle buffers must not
// recycle those.
package kernels
