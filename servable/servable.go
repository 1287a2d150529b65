// Package servable defines what the server needs from a loaded model version:
// its signatures and a way to run them. The loader produces servables; the
// REST and gRPC front ends, batching and warmup consume them.
package servable

import (
	"context"

	"github.com/tfserve/tfserve/tensor"
)

// Method names used in SignatureDef.method_name.
const (
	MethodPredict  = "tensorflow/serving/predict"
	MethodClassify = "tensorflow/serving/classify"
	MethodRegress  = "tensorflow/serving/regress"
)

// DefaultSignature is the signature used when a request names none.
const DefaultSignature = "serving_default"

// Dim is one dimension of a TensorShapeProto: Size -1 means unknown.
type Dim struct {
	Size int64
	Name string
}

// TensorInfo describes one signature input or output as TF's TensorInfo does.
type TensorInfo struct {
	// Name is the graph tensor name, e.g. "x:0".
	Name  string
	DType tensor.DType
	// Dims is nil when UnknownRank is true.
	Dims        []Dim
	UnknownRank bool
	// NoShape: the stored TensorInfo has no tensor_shape field at all.
	// Running treats it as an unknown rank (UnknownRank is true too), but
	// metadata prints the TensorInfo as stored, without a tensor_shape (TF
	// Serving's GetModelMetadata copies the stored SignatureDef; an absent
	// message field is printed by neither the proto nor its JSON).
	NoShape bool
}

// Shape returns the dims as a tensor.Shape (-1 for unknown sizes).
func (t TensorInfo) Shape() tensor.Shape {
	s := make(tensor.Shape, len(t.Dims))
	for i, d := range t.Dims {
		s[i] = int(d.Size)
	}
	return s
}

// Signature is one SignatureDef.
type Signature struct {
	Name       string
	MethodName string
	Inputs     map[string]TensorInfo
	Outputs    map[string]TensorInfo
}

// Model is one loaded, runnable model version. Implementations are safe for
// concurrent use.
type Model interface {
	// Signatures returns every SignatureDef of the MetaGraph that was loaded,
	// keyed by signature name (including ones that cannot be run, such as
	// "__saved_model_init_op", so metadata matches TF Serving).
	Signatures() map[string]*Signature
	// Run evaluates a signature. inputs is keyed by signature input alias;
	// outputs names the output aliases wanted (nil or empty means all).
	// The returned map is keyed by output alias.
	Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, outputs []string) (map[string]*tensor.Tensor, error)
	// Close releases the model's memory. Run must not be called after Close.
	Close() error
}

// Cooperative is implemented by models whose Run checks its context often
// and returns soon after it ends (tfserve's executor checks it between
// steps). Callers may then run them on the calling goroutine instead of
// racing them against the deadline on another one.
type Cooperative interface {
	Cooperative() bool
}
