package servable

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// The checks of a Predict request against its signature, in the order
// TF Serving makes them (tensorflow/serving 9d981c5c,
// servables/tensorflow/predict_util.cc RunPredict and PreProcessPrediction,
// which calls tensorflow/cc/saved_model/util.cc GetInputValues):
//
//  1. PredictSignature: the signature exists, and has a method name Predict
//     accepts (VerifySignature, when the method name check is on);
//  2. CheckInputs: the request's input aliases are the signature's
//     (VerifyRequestInputsSize, then GetInputValues);
//  3. each input parses as a tensor ("tensor parsing error: <alias>");
//  4. CheckOutputFilter: output_filter names known outputs, once each;
//  5. the session run: each input has the dtype its feed wants
//     (DTypeError).
//
// REST, gRPC, warmup and the engines' own argument checks
// (graph.SignaturePlan.Args) all take their messages from here.

// PredictSignature returns the signature named name, with RunPredict's
// FAILED_PRECONDITION when there is none, and VerifySignature's INTERNAL
// when methodCheck is set (--enable_signature_method_name_check) and the
// method name is none of predict, classify or regress.
func PredictSignature(sigs map[string]*Signature, name string, methodCheck bool) (*Signature, error) {
	sig := sigs[name]
	if sig == nil {
		return nil, status.New(status.FailedPrecondition, "Serving signature key \""+name+"\" not found.")
	}
	if methodCheck && sig.MethodName != MethodPredict && sig.MethodName != MethodClassify && sig.MethodName != MethodRegress {
		return nil, status.New(status.Internal, "Expected prediction signature method_name to be one of {"+
			MethodPredict+", "+MethodClassify+", "+MethodRegress+"}. Was: "+sig.MethodName)
	}
	return sig, nil
}

// CheckInputs is InputAliasError for sig: nil when req has exactly the
// signature's input aliases.
func CheckInputs[V any](sig *Signature, req map[string]V) error {
	if sameKeys(sig.Inputs, req) {
		return nil
	}
	aliases := slices.Sorted(maps.Keys(sig.Inputs))
	return InputAliasError(aliases, func(i int) string { return sig.Inputs[aliases[i]].Name }, req)
}

// InputAliasError is the error TF Serving gives a Predict request whose
// input aliases (the keys of req) are not exactly a signature's (aliases,
// feed(i) being the TensorInfo name of aliases[i]); nil when they are.
//
// Signatures here carry no defaults (SignatureDef.defaults), so:
//
//   - predict_util.cc VerifyRequestInputsSize: a count that differs is
//     INVALID_ARGUMENT "input size does not match signature: <n>!=<m>
//     len({<request aliases>}) != len({<signature aliases>}). Sent extra:
//     {<request minus signature>}. Missing but required: {<signature minus
//     request>}." (every list sorted and joined by ",", as the std::sets
//     GetMapKeys and SetDifference build);
//   - saved_model/util.cc GetInputValues: with the same count, the first
//     signature alias the request lacks is INVALID_ARGUMENT "Signature input
//     alias: <alias>(feed name: <name>) not found in request and no default
//     value provided. Inputs expected to be in the request {<request
//     aliases>}, or default input alias set: " followed by the (empty,
//     unbraced) defaults. TF walks the signature's protobuf map, whose order
//     is unspecified; we take the aliases in sorted order. Its last check,
//     "Inputs contains invalid name", needs defaults and cannot happen.
func InputAliasError[V any](aliases []string, feed func(i int) string, req map[string]V) error {
	n := 0
	for _, a := range aliases {
		if _, ok := req[a]; ok {
			n++
		}
	}
	if n == len(aliases) && len(req) == len(aliases) {
		return nil
	}
	got := slices.Sorted(maps.Keys(req))
	if len(req) != len(aliases) {
		want := slices.Sorted(slices.Values(aliases))
		var extra, missing []string
		for _, k := range got {
			if !slices.Contains(aliases, k) {
				extra = append(extra, k)
			}
		}
		for _, k := range want {
			if _, ok := req[k]; !ok {
				missing = append(missing, k)
			}
		}
		return status.New(status.InvalidArgument, "input size does not match signature: "+
			strconv.Itoa(len(got))+"!="+strconv.Itoa(len(want))+" len({"+strings.Join(got, ",")+
			"}) != len({"+strings.Join(want, ",")+"}). Sent extra: {"+strings.Join(extra, ",")+
			"}. Missing but required: {"+strings.Join(missing, ",")+"}.")
	}
	first := -1
	for i, a := range aliases {
		if _, ok := req[a]; !ok && (first < 0 || a < aliases[first]) {
			first = i
		}
	}
	return status.New(status.InvalidArgument, "Signature input alias: "+aliases[first]+"(feed name: "+feed(first)+
		") not found in request and no default value provided. Inputs expected to be in the request {"+
		strings.Join(got, ",")+"}, or default input alias set: ")
}

// CheckOutputFilter is OutputFilterError for sig.
func (s *Signature) CheckOutputFilter(filter []string) error {
	if len(filter) == 0 {
		return nil
	}
	return OutputFilterError(slices.Collect(maps.Keys(s.Outputs)), filter)
}

// OutputFilterError is PreProcessPrediction's check of a request's
// output_filter against a signature's output aliases (outputs), in filter
// order: an unknown alias is INVALID_ARGUMENT "output tensor alias not found
// in signature: <alias> Outputs expected to be in the set {<outputs,
// sorted>}." (no period after the alias), a repeated one "duplicate output
// tensor alias: <alias>".
func OutputFilterError(outputs, filter []string) error {
	for i, o := range filter {
		if !slices.Contains(outputs, o) {
			return status.New(status.InvalidArgument, "output tensor alias not found in signature: "+o+
				" Outputs expected to be in the set {"+strings.Join(slices.Sorted(slices.Values(outputs)), ",")+"}.")
		}
		if slices.Contains(filter[:i], o) {
			return status.New(status.InvalidArgument, "duplicate output tensor alias: "+o)
		}
	}
	return nil
}

// ArgIndex is the index TensorFlow's session gives the feed of input alias
// in its argument list: DirectSession sorts the feed (TensorInfo) names
// before it builds the callable (direct_session.cc GetOrCreateExecutors),
// so it is the rank of the alias's name among the signature's input names.
func (s *Signature) ArgIndex(alias string) int {
	name := s.Inputs[alias].Name
	i := 0
	for a, ti := range s.Inputs {
		if ti.Name < name || (ti.Name == name && a < alias) {
			i++
		}
	}
	return i
}

// DTypeError is the session's INVALID_ARGUMENT for an input of the wrong
// dtype (FunctionCallFrame::SetArgs): "Expects arg[<i>] to be <want> but
// <got> is provided", i being the feed's argument index (ArgIndex).
func DTypeError(i int, want, got tensor.DType) error {
	return status.New(status.InvalidArgument, "Expects arg["+strconv.Itoa(i)+"] to be "+want.Name()+
		" but "+got.Name()+" is provided")
}

// sameKeys reports whether a and b have the same keys.
func sameKeys[A, B any](a map[string]A, b map[string]B) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}
