// Kernel conventions.
//
// Lookup(op) returns the Builder for a TF op name and Supported lists them.
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
