package servable

import (
	"testing"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

func three() *Signature {
	return &Signature{Name: "multi", MethodName: MethodPredict,
		Inputs: map[string]TensorInfo{
			"a": {Name: "a:0", DType: tensor.Float32}, "b": {Name: "b:0", DType: tensor.Int64}, "s": {Name: "s:0", DType: tensor.String}},
		Outputs: map[string]TensorInfo{"sum": {Name: "sum:0"}, "neg": {Name: "neg:0"}, "echo_bytes": {Name: "echo:0"}}}
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func wantErr(t *testing.T, what string, err error, code status.Code, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v %q", what, code, msg)
		return
	}
	if status.CodeOf(err) != code || err.Error() != msg {
		t.Errorf("%s: %v %q\n want %v %q", what, status.CodeOf(err), err.Error(), code, msg)
	}
}

// TestInputAliasRules pins the messages of tensorflow/serving
// servables/tensorflow/predict_util.cc VerifyRequestInputsSize and
// tensorflow/cc/saved_model/util.cc GetInputValues (signatures without
// defaults): every alias list is a sorted std::set joined by ",", the
// default set follows unbraced (and is empty).
func TestInputAliasRules(t *testing.T) {
	sig := three()
	if err := CheckInputs(sig, set("a", "b", "s")); err != nil {
		t.Fatalf("matching aliases: %v", err)
	}
	cases := []struct {
		name string
		req  map[string]bool
		msg  string
	}{
		{"none", set(), "input size does not match signature: 0!=3 len({}) != len({a,b,s}). Sent extra: {}. Missing but required: {a,b,s}."},
		{"fewer", set("s", "a"), "input size does not match signature: 2!=3 len({a,s}) != len({a,b,s}). Sent extra: {}. Missing but required: {b}."},
		{"more", set("z", "a", "b", "s"), "input size does not match signature: 4!=3 len({a,b,s,z}) != len({a,b,s}). Sent extra: {z}. Missing but required: {}."},
		{"fewer and unknown", set("q", "a"), "input size does not match signature: 2!=3 len({a,q}) != len({a,b,s}). Sent extra: {q}. Missing but required: {b,s}."},
		// Same count: GetInputValues walks the signature's aliases and
		// names the first one the request lacks (sorted here; TF's
		// protobuf map order is unspecified).
		{"one renamed", set("a", "q", "s"), "Signature input alias: b(feed name: b:0) not found in request and no default value provided. " +
			"Inputs expected to be in the request {a,q,s}, or default input alias set: "},
		{"two renamed", set("q", "r", "b"), "Signature input alias: a(feed name: a:0) not found in request and no default value provided. " +
			"Inputs expected to be in the request {b,q,r}, or default input alias set: "},
	}
	for _, c := range cases {
		wantErr(t, c.name, CheckInputs(sig, c.req), status.InvalidArgument, c.msg)
	}
	// The engines' plans give the aliases and feed names directly.
	err := InputAliasError([]string{"a", "b"}, func(i int) string { return []string{"x:0", "y:0"}[i] }, set("a", "c"))
	wantErr(t, "plan", err, status.InvalidArgument, "Signature input alias: b(feed name: y:0) not found in request and no default value provided. "+
		"Inputs expected to be in the request {a,c}, or default input alias set: ")
}

// TestOutputFilterRules: predict_util.cc PreProcessPrediction, in filter
// order; the set of outputs is sorted (GetMapKeys) and no period follows
// the unknown alias.
func TestOutputFilterRules(t *testing.T) {
	sig := three()
	if err := sig.CheckOutputFilter(nil); err != nil {
		t.Fatal(err)
	}
	if err := sig.CheckOutputFilter([]string{"neg", "sum"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "unknown", sig.CheckOutputFilter([]string{"neg", "q", "q"}), status.InvalidArgument,
		"output tensor alias not found in signature: q Outputs expected to be in the set {echo_bytes,neg,sum}.")
	wantErr(t, "duplicate", sig.CheckOutputFilter([]string{"neg", "sum", "neg", "q"}), status.InvalidArgument,
		"duplicate output tensor alias: neg")
}

// TestPredictSignature: RunPredict's lookup and VerifySignature.
func TestPredictSignature(t *testing.T) {
	sigs := map[string]*Signature{"p": three(), "c": {MethodName: MethodClassify}, "r": {MethodName: MethodRegress}, "o": {MethodName: "other"}}
	_, err := PredictSignature(sigs, "nope", true)
	wantErr(t, "unknown", err, status.FailedPrecondition, `Serving signature key "nope" not found.`)
	for _, n := range []string{"p", "c", "r"} {
		if _, err := PredictSignature(sigs, n, true); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, err := PredictSignature(sigs, "o", false); err != nil {
		t.Errorf("unchecked method: %v", err)
	}
	_, err = PredictSignature(sigs, "o", true)
	wantErr(t, "method", err, status.Internal, "Expected prediction signature method_name to be one of "+
		"{tensorflow/serving/predict, tensorflow/serving/classify, tensorflow/serving/regress}. Was: other")
}

// TestArgIndex: DirectSession sorts the feed names, not the aliases.
func TestArgIndex(t *testing.T) {
	sig := &Signature{Inputs: map[string]TensorInfo{
		"a": {Name: "zeta:0"}, "b": {Name: "alpha:0"}, "c": {Name: "mid:0"}}}
	for alias, want := range map[string]int{"a": 2, "b": 0, "c": 1} {
		if got := sig.ArgIndex(alias); got != want {
			t.Errorf("%s: arg %d, want %d", alias, got, want)
		}
	}
	wantErr(t, "dtype", DTypeError(2, tensor.Float32, tensor.Float64), status.InvalidArgument,
		"Expects arg[2] to be float but double is provided")
}
