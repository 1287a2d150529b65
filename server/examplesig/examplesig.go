// Package examplesig validates the signatures that classify and regress
// requests (REST and gRPC alike) run, with TF Serving's exact messages
// (GetClassificationSignatureDef / PreProcessClassification and their
// regression twins), and renders signatures the way those messages quote
// them.
package examplesig

import (
	"maps"
	"slices"
	"strconv"

	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/status"
	"github.com/tfserve/tfserve/tensor"
)

// Tensor aliases of classify and regress signatures.
const (
	Inputs  = "inputs"
	Classes = "classes"
	Scores  = "scores"
	Outputs = "outputs"
)

// Lookup finds the signature a classify (servable.MethodClassify) or
// regress (servable.MethodRegress) request names and validates it. With
// checkMethod (--enable_signature_method_name_check) its method_name must
// match too.
func Lookup(sigs map[string]*servable.Signature, name, method string, checkMethod bool) (*servable.Signature, error) {
	sig := sigs[name]
	if sig == nil {
		return nil, status.New(status.InvalidArgument, "No signature was found with the name: "+name)
	}
	if checkMethod && sig.MethodName != method {
		what := "classification"
		if method == servable.MethodRegress {
			what = "regression"
		}
		return nil, status.New(status.InvalidArgument, "Expected "+what+" signature method_name to be "+
			method+". Was: "+sig.MethodName)
	}
	if method == servable.MethodClassify {
		return sig, CheckClassify(sig)
	}
	return sig, CheckRegress(sig)
}

// CheckClassify is PreProcessClassification.
func CheckClassify(sig *servable.Signature) error {
	if len(sig.Inputs) != 1 {
		return status.New(status.InvalidArgument, "Expected one input Tensor.")
	}
	if len(sig.Outputs) != 1 && len(sig.Outputs) != 2 {
		return status.New(status.InvalidArgument, "Expected one or two output Tensors, found "+strconv.Itoa(len(sig.Outputs)))
	}
	if _, ok := sig.Inputs[Inputs]; !ok {
		return status.New(status.InvalidArgument, "No classification inputs found in SignatureDef: "+DebugString(sig))
	}
	_, hasClasses := sig.Outputs[Classes]
	_, hasScores := sig.Outputs[Scores]
	if !hasClasses && !hasScores {
		return status.New(status.InvalidArgument, "Expected classification signature outputs to contain at least one of \""+
			Classes+"\" or \""+Scores+"\". Signature was: "+DebugString(sig))
	}
	return nil
}

// CheckRegress is PreProcessRegression.
func CheckRegress(sig *servable.Signature) error {
	if len(sig.Inputs) != 1 {
		return status.New(status.InvalidArgument, "Expected one input Tensor.")
	}
	if len(sig.Outputs) != 1 {
		return status.New(status.InvalidArgument, "Expected one output Tensor.")
	}
	if _, ok := sig.Inputs[Inputs]; !ok {
		return status.New(status.InvalidArgument, "No regression inputs found in SignatureDef: "+DebugString(sig))
	}
	if _, ok := sig.Outputs[Outputs]; !ok {
		return status.New(status.InvalidArgument, "No regression outputs found in SignatureDef: "+DebugString(sig))
	}
	return nil
}

// DebugString renders a SignatureDef as protobuf's DebugString
// (text format, map entries sorted by key), which TF Serving puts into some
// classify/regress error messages.
func DebugString(s *servable.Signature) string {
	var b []byte
	tensorMap := func(field string, m map[string]servable.TensorInfo) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ti := m[k]
			b = append(b, field+" {\n  key: "...)
			b = strconv.AppendQuote(b, k)
			b = append(b, "\n  value {\n"...)
			if ti.Name != "" {
				b = append(b, "    name: "...)
				b = strconv.AppendQuote(b, ti.Name)
				b = append(b, '\n')
			}
			if ti.DType != tensor.Invalid {
				b = append(b, "    dtype: "+ti.DType.String()+"\n"...)
			}
			b = append(b, "    tensor_shape {\n"...)
			if ti.UnknownRank {
				b = append(b, "      unknown_rank: true\n"...)
			} else {
				for _, d := range ti.Dims {
					b = append(b, "      dim {\n"...)
					if d.Size != 0 {
						b = append(b, "        size: "...)
						b = strconv.AppendInt(b, d.Size, 10)
						b = append(b, '\n')
					}
					if d.Name != "" {
						b = append(b, "        name: "...)
						b = strconv.AppendQuote(b, d.Name)
						b = append(b, '\n')
					}
					b = append(b, "      }\n"...)
				}
			}
			b = append(b, "    }\n  }\n}\n"...)
		}
	}
	tensorMap("inputs", s.Inputs)
	tensorMap("outputs", s.Outputs)
	if s.MethodName != "" {
		b = append(b, "method_name: "...)
		b = strconv.AppendQuote(b, s.MethodName)
		b = append(b, '\n')
	}
	return string(b)
}
