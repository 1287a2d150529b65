// Package servable defines what the server needs from a loaded model version:
// its signatures and a way to run them. The loader produces servables; the
// REST and gRPC front ends, batching and warmup consume them.
package servable

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/servable/status"
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

// InputSizeError is TF Serving's VerifyRequestInputsSize error
// (predict_util.cc) for a request whose input aliases do not match the
// signature's: both sets sorted, then the extra and the missing ones.
func (s *Signature) InputSizeError(aliases []string) error {
	req := slices.Sorted(slices.Values(aliases))
	want := slices.Sorted(maps.Keys(s.Inputs))
	var extra, missing []string
	for _, k := range req {
		if _, ok := s.Inputs[k]; !ok {
			extra = append(extra, k)
		}
	}
	for _, k := range want {
		if !slices.Contains(req, k) {
			missing = append(missing, k)
		}
	}
	return status.New(status.InvalidArgument, "input size does not match signature: "+
		strconv.Itoa(len(req))+"!="+strconv.Itoa(len(s.Inputs))+" len({"+strings.Join(req, ",")+
		"}) != len({"+strings.Join(want, ",")+"}). Sent extra: {"+strings.Join(extra, ",")+
		"}. Missing but required: {"+strings.Join(missing, ",")+"}.")
}
