package grpcapi

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/tensor"
)

// checkSigs are signatures for the Predict checks and the metadata of a
// TensorInfo without a tensor_shape (the fakemodel cannot run them).
func checkSigs(m *fakemodel.HalfPlusTwo) {
	vec := []servable.Dim{{Size: -1}}
	m.Extra = map[string]*servable.Signature{
		// Aliases and feed names sort differently: b's feed is arg 0.
		"order": {Name: "order", MethodName: servable.MethodPredict,
			Inputs: map[string]servable.TensorInfo{
				"a": {Name: "zeta:0", DType: tensor.Float32, Dims: vec},
				"b": {Name: "alpha:0", DType: tensor.Int64, Dims: vec}},
			Outputs: map[string]servable.TensorInfo{"y": {Name: "y:0", DType: tensor.Float32, Dims: vec}}},
		"odd_method": {Name: "odd_method", MethodName: "tensorflow/serving/other",
			Inputs:  map[string]servable.TensorInfo{"x": {Name: "x:0", DType: tensor.Float32, Dims: vec}},
			Outputs: map[string]servable.TensorInfo{"y": {Name: "y:0", DType: tensor.Float32, Dims: vec}}},
		// As saved_model_half_plus_three stores serving_default: no
		// tensor_shape at all; next to an unknown rank and a scalar.
		"noshape": {Name: "noshape", MethodName: servable.MethodPredict,
			Inputs: map[string]servable.TensorInfo{"x": {Name: "x:0", DType: tensor.Float32, UnknownRank: true, NoShape: true}},
			Outputs: map[string]servable.TensorInfo{
				"y":       {Name: "y:0", DType: tensor.Float32, UnknownRank: true, NoShape: true},
				"unknown": {Name: "u:0", DType: tensor.Float32, UnknownRank: true},
				"scalar":  {Name: "s:0", DType: tensor.Float32, Dims: []servable.Dim{}}}},
	}
}

func wantExact(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := grpcstatus.FromError(err)
	if err == nil || st.Code() != code || st.Message() != msg {
		t.Errorf("%s: %v %q\n want %v %q", what, st.Code(), st.Message(), code, msg)
	}
}

// TestPredictInputChecks: the gRPC answers for inputs and output filters
// that do not match the signature, exactly as TF Serving gives them:
// servables/tensorflow/predict_util.cc VerifyRequestInputsSize,
// tensorflow/cc/saved_model/util.cc GetInputValues, predict_util.cc
// PreProcessPrediction (output filter), in that order, then the session's
// dtype check (FunctionCallFrame::SetArgs; DirectSession's arguments are
// the feeds in sorted name order).
func TestPredictInputChecks(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, checkSigs)
	ctx := context.Background()
	x := floatsProto([]float32{1}, 1, 1)
	f := floatsProto([]float32{1}, 1)
	i64 := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shapeProto(1), Int64Val: []int64{1}}
	str := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_STRING, TensorShape: shapeProto(1), StringVal: [][]byte{[]byte("s")}}
	dbl := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_DOUBLE, TensorShape: shapeProto(1), DoubleVal: []float64{1}}
	type in = map[string]*tfpb.TensorProto
	cases := []struct {
		name   string
		sig    string
		inputs in
		filter []string
		code   codes.Code
		msg    string
	}{
		{"renamed input", "", in{"z": x}, nil, codes.InvalidArgument,
			"Signature input alias: x(feed name: x:0) not found in request and no default value provided. " +
				"Inputs expected to be in the request {z}, or default input alias set: "},
		{"extra input", "", in{"x": x, "z": x}, nil, codes.InvalidArgument,
			"input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. Missing but required: {}."},
		{"missing inputs", "multi", in{"a": f}, nil, codes.InvalidArgument,
			"input size does not match signature: 1!=3 len({a}) != len({a,b,s}). Sent extra: {}. Missing but required: {b,s}."},
		{"one of three renamed", "multi", in{"a": f, "q": i64, "s": str}, nil, codes.InvalidArgument,
			"Signature input alias: b(feed name: b:0) not found in request and no default value provided. " +
				"Inputs expected to be in the request {a,q,s}, or default input alias set: "},
		{"aliases before parsing", "multi", in{"a": {Dtype: tfpb.DataType_DT_RESOURCE}, "q": i64, "s": str}, nil, codes.InvalidArgument,
			"Signature input alias: b(feed name: b:0) not found in request and no default value provided. " +
				"Inputs expected to be in the request {a,q,s}, or default input alias set: "},
		{"parsing before the filter", "", in{"x": {Dtype: tfpb.DataType_DT_VARIANT}}, []string{"q"}, codes.InvalidArgument,
			"tensor parsing error: x"},
		{"unknown output", "multi", in{"a": f, "b": i64, "s": str}, []string{"neg", "q"}, codes.InvalidArgument,
			"output tensor alias not found in signature: q Outputs expected to be in the set {echo_bytes,neg,sum}."},
		{"filter before dtype", "", in{"x": dbl}, []string{"q"}, codes.InvalidArgument,
			"output tensor alias not found in signature: q Outputs expected to be in the set {y}."},
		{"duplicate output", "multi", in{"a": f, "b": i64, "s": str}, []string{"sum", "neg", "sum"}, codes.InvalidArgument,
			"duplicate output tensor alias: sum"},
		{"dtype: the feed's argument index", "order", in{"a": dbl, "b": i64}, nil, codes.InvalidArgument,
			"Expects arg[1] to be float but double is provided"},
		{"dtype: the lowest argument", "order", in{"a": dbl, "b": dbl}, nil, codes.InvalidArgument,
			"Expects arg[0] to be int64 but double is provided"},
		{"unknown signature", "nope", in{"x": x}, nil, codes.FailedPrecondition, `Serving signature key "nope" not found.`},
	}
	for _, c := range cases {
		_, err := h.pred.Predict(ctx, &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), c.sig), Inputs: c.inputs, OutputFilter: c.filter})
		wantExact(t, c.name, err, c.code, c.msg)
	}

	// VerifySignature, only with --enable_signature_method_name_check.
	req := &servingpb.PredictRequest{ModelSpec: withSig(spec("m"), "odd_method"), Inputs: in{"x": f}}
	_, err := h.pred.Predict(ctx, req)
	wantExact(t, "method name not checked", err, codes.Internal, `fakemodel: signature "odd_method" cannot run`)
	hc, _, _ := fakeHarness(t, func(o *Options) { o.EnableSignatureMethodNameCheck = true }, checkSigs)
	_, err = hc.pred.Predict(ctx, req)
	wantExact(t, "method name", err, codes.Internal, "Expected prediction signature method_name to be one of "+
		"{tensorflow/serving/predict, tensorflow/serving/classify, tensorflow/serving/regress}. Was: tensorflow/serving/other")
}

// TestMetadataWithoutShape: a TensorInfo stored without tensor_shape comes
// back without one (TF Serving's get_model_metadata_impl.cc copies the
// stored SignatureDef); an unknown rank is a shape with unknown_rank set,
// a scalar an empty shape. ServableSignature reads the absent shape back
// as an unknown rank, not a scalar.
func TestMetadataWithoutShape(t *testing.T) {
	h, _, _ := fakeHarness(t, nil, checkSigs)
	resp, err := h.pred.GetModelMetadata(context.Background(), &servingpb.GetModelMetadataRequest{ModelSpec: spec("m"), MetadataField: []string{"signature_def"}})
	if err != nil {
		t.Fatal(err)
	}
	var m servingpb.SignatureDefMap
	if err := resp.GetMetadata()["signature_def"].UnmarshalTo(&m); err != nil {
		t.Fatal(err)
	}
	got := m.SignatureDef["noshape"]
	want := &tfpb.SignatureDef{MethodName: servable.MethodPredict,
		Inputs: map[string]*tfpb.TensorInfo{"x": {Encoding: &tfpb.TensorInfo_Name{Name: "x:0"}, Dtype: tfpb.DataType_DT_FLOAT}},
		Outputs: map[string]*tfpb.TensorInfo{
			"y": {Encoding: &tfpb.TensorInfo_Name{Name: "y:0"}, Dtype: tfpb.DataType_DT_FLOAT},
			"unknown": {Encoding: &tfpb.TensorInfo_Name{Name: "u:0"}, Dtype: tfpb.DataType_DT_FLOAT,
				TensorShape: &tfpb.TensorShapeProto{UnknownRank: true}},
			"scalar": {Encoding: &tfpb.TensorInfo_Name{Name: "s:0"}, Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{}}}}
	if !proto.Equal(got, want) {
		t.Errorf("noshape:\n got  %v\n want %v", got, want)
	}
	back := ServableSignature("noshape", got)
	if ti := back.Inputs["x"]; !ti.NoShape || !ti.UnknownRank || ti.Dims != nil {
		t.Errorf("read back: %+v, want no shape and an unknown rank", ti)
	}
	if ti := back.Outputs["unknown"]; ti.NoShape || !ti.UnknownRank {
		t.Errorf("read back unknown rank: %+v", ti)
	}
	if ti := back.Outputs["scalar"]; ti.NoShape || ti.UnknownRank || ti.Dims == nil || len(ti.Dims) != 0 {
		t.Errorf("read back scalar: %+v", ti)
	}
}
