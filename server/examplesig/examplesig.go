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
	"github.com/tfserve/tfserve/servable/status"
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

// Classifications is a checked classify result: n rows of NumClasses
// classes, row-major. Labels or Scores is nil when the signature lacks that
// output.
type Classifications struct {
	NumClasses int
	Labels     []string
	Scores     []float32
}

// ClassifyResult checks a classify signature's outputs for n examples as
// PostProcessClassificationResult does and returns them flat.
func ClassifyResult(outputs map[string]*tensor.Tensor, n int) (*Classifications, error) {
	classes, scores := outputs[Classes], outputs[Scores]
	check := func(t *tensor.Tensor, name string, dt tensor.DType) error {
		if len(t.Shape) != 2 {
			return status.New(status.InvalidArgument, "Expected Tensor shape: [batch_size num_classes] but got "+t.Shape.String())
		}
		if t.DType != dt {
			return status.New(status.InvalidArgument, "Expected "+name+" Tensor of "+dt.String()+". Got: "+t.DType.String())
		}
		if t.Shape[0] != n {
			return status.New(status.InvalidArgument, "Expected "+name+" output batch size of "+strconv.Itoa(n)+
				". Got: "+strconv.Itoa(t.Shape[0]))
		}
		return nil
	}
	c := &Classifications{}
	if classes != nil {
		if err := check(classes, "classes", tensor.String); err != nil {
			return nil, err
		}
		c.NumClasses = classes.Shape[1]
	}
	if scores != nil {
		if err := check(scores, "scores", tensor.Float32); err != nil {
			return nil, err
		}
		if classes != nil && classes.Shape[1] != scores.Shape[1] {
			return nil, status.New(status.InvalidArgument, "Tensors class and score should match in dim_size(1). Got "+
				strconv.Itoa(classes.Shape[1])+" vs. "+strconv.Itoa(scores.Shape[1]))
		}
		c.NumClasses = scores.Shape[1]
	}
	if classes != nil {
		if c.Labels = classes.Strings(); len(c.Labels) != n*c.NumClasses {
			return nil, status.New(status.Internal, "classes tensor holds "+strconv.Itoa(len(c.Labels))+" elements")
		}
	}
	if scores != nil {
		if c.Scores = scores.F32(); len(c.Scores) != n*c.NumClasses {
			return nil, status.New(status.Internal, "scores tensor holds "+strconv.Itoa(len(c.Scores))+" elements")
		}
	}
	return c, nil
}

// RegressResult checks a regress signature's output for n examples as
// PostProcessRegressionResult does and returns the n values.
func RegressResult(outputs map[string]*tensor.Tensor, sig *servable.Signature, n int) ([]float32, error) {
	t := outputs[Outputs]
	if t == nil {
		return nil, status.New(status.InvalidArgument, "Could not find output tensor '"+sig.Outputs[Outputs].Name+"'")
	}
	if !(len(t.Shape) == 1 || (len(t.Shape) == 2 && t.Shape[1] == 1)) {
		return nil, status.New(status.InvalidArgument, "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got "+
			t.Shape.String())
	}
	if n != t.Shape[0] {
		return nil, status.New(status.InvalidArgument, "Input batch size did not match output batch size: "+
			strconv.Itoa(n)+" vs. "+strconv.Itoa(t.Shape[0]))
	}
	if t.DType != tensor.Float32 {
		return nil, status.New(status.InvalidArgument, "Expected output Tensor of DT_FLOAT.  Got: "+t.DType.String())
	}
	vals := t.F32()
	if len(vals) != n {
		return nil, status.New(status.InvalidArgument, "Expected output batch size to be "+strconv.Itoa(n)+
			".  Got: "+strconv.Itoa(len(vals)))
	}
	return vals, nil
}
