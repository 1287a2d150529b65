package kserve_test

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/tfserve/tfserve/proto/kservepb"
)

// TestWireCompatibleWithKServe checks our schema against KServe's
// grpc_predict_v2.proto as its protocol description lists it (field
// names, numbers, kinds and cardinality of every message; the service's
// full name and methods): a drift here would break KServe's, Triton's and
// MLServer's generated clients.
func TestWireCompatibleWithKServe(t *testing.T) {
	type field struct {
		name     string
		num      protoreflect.FieldNumber
		kind     protoreflect.Kind
		repeated bool
	}
	const (
		str = protoreflect.StringKind
		b   = protoreflect.BoolKind
		i64 = protoreflect.Int64Kind
		msg = protoreflect.MessageKind
		byt = protoreflect.BytesKind
	)
	want := map[protoreflect.FullName][]field{
		"inference.ServerLiveRequest":     {},
		"inference.ServerLiveResponse":    {{"live", 1, b, false}},
		"inference.ServerReadyRequest":    {},
		"inference.ServerReadyResponse":   {{"ready", 1, b, false}},
		"inference.ModelReadyRequest":     {{"name", 1, str, false}, {"version", 2, str, false}},
		"inference.ModelReadyResponse":    {{"ready", 1, b, false}},
		"inference.ServerMetadataRequest": {},
		"inference.ServerMetadataResponse": {{"name", 1, str, false}, {"version", 2, str, false},
			{"extensions", 3, str, true}},
		"inference.ModelMetadataRequest": {{"name", 1, str, false}, {"version", 2, str, false}},
		"inference.ModelMetadataResponse": {{"name", 1, str, false}, {"versions", 2, str, true}, {"platform", 3, str, false},
			{"inputs", 4, msg, true}, {"outputs", 5, msg, true}},
		"inference.ModelMetadataResponse.TensorMetadata": {{"name", 1, str, false}, {"datatype", 2, str, false},
			{"shape", 3, i64, true}},
		"inference.ModelInferRequest": {{"model_name", 1, str, false}, {"model_version", 2, str, false}, {"id", 3, str, false},
			{"parameters", 4, msg, true}, {"inputs", 5, msg, true}, {"outputs", 6, msg, true}, {"raw_input_contents", 7, byt, true}},
		"inference.ModelInferRequest.InferInputTensor": {{"name", 1, str, false}, {"datatype", 2, str, false},
			{"shape", 3, i64, true}, {"parameters", 4, msg, true}, {"contents", 5, msg, false}},
		"inference.ModelInferRequest.InferRequestedOutputTensor": {{"name", 1, str, false}, {"parameters", 2, msg, true}},
		"inference.ModelInferResponse": {{"model_name", 1, str, false}, {"model_version", 2, str, false}, {"id", 3, str, false},
			{"parameters", 4, msg, true}, {"outputs", 5, msg, true}, {"raw_output_contents", 6, byt, true}},
		"inference.ModelInferResponse.InferOutputTensor": {{"name", 1, str, false}, {"datatype", 2, str, false},
			{"shape", 3, i64, true}, {"parameters", 4, msg, true}, {"contents", 5, msg, false}},
		"inference.InferParameter": {{"bool_param", 1, b, false}, {"int64_param", 2, i64, false}, {"string_param", 3, str, false},
			{"double_param", 4, protoreflect.DoubleKind, false}, {"uint64_param", 5, protoreflect.Uint64Kind, false}},
		"inference.InferTensorContents": {{"bool_contents", 1, b, true}, {"int_contents", 2, protoreflect.Int32Kind, true},
			{"int64_contents", 3, i64, true}, {"uint_contents", 4, protoreflect.Uint32Kind, true},
			{"uint64_contents", 5, protoreflect.Uint64Kind, true}, {"fp32_contents", 6, protoreflect.FloatKind, true},
			{"fp64_contents", 7, protoreflect.DoubleKind, true}, {"bytes_contents", 8, byt, true}},
	}
	fd := kservepb.File_inference_grpc_predict_v2_proto
	seen := 0
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) { // the schema's own nesting: two levels
		for i := range ms.Len() {
			m := ms.Get(i)
			walk(m.Messages())
			if m.IsMapEntry() {
				continue
			}
			w, ok := want[m.FullName()]
			if !ok {
				t.Errorf("message %s is not KServe's", m.FullName())
				continue
			}
			seen++
			if m.Fields().Len() != len(w) {
				t.Errorf("%s has %d fields, want %d", m.FullName(), m.Fields().Len(), len(w))
			}
			for _, f := range w {
				got := m.Fields().ByNumber(f.num)
				if got == nil || string(got.Name()) != f.name || got.Kind() != f.kind || (got.Cardinality() == protoreflect.Repeated) != f.repeated {
					t.Errorf("%s field %d: %v, want %s %v repeated=%v", m.FullName(), f.num, got, f.name, f.kind, f.repeated)
				}
			}
		}
	}
	walk(fd.Messages())
	if seen != len(want) {
		t.Errorf("found %d of KServe's %d messages", seen, len(want))
	}
	if fd.Package() != "inference" || fd.Services().Len() != 1 {
		t.Fatalf("package %s, %d services", fd.Package(), fd.Services().Len())
	}
	svc := fd.Services().Get(0)
	if svc.FullName() != "inference.GRPCInferenceService" {
		t.Errorf("service %s", svc.FullName())
	}
	for _, m := range []struct{ name, in, out string }{
		{"ServerLive", "ServerLiveRequest", "ServerLiveResponse"}, {"ServerReady", "ServerReadyRequest", "ServerReadyResponse"},
		{"ModelReady", "ModelReadyRequest", "ModelReadyResponse"}, {"ServerMetadata", "ServerMetadataRequest", "ServerMetadataResponse"},
		{"ModelMetadata", "ModelMetadataRequest", "ModelMetadataResponse"}, {"ModelInfer", "ModelInferRequest", "ModelInferResponse"},
	} {
		md := svc.Methods().ByName(protoreflect.Name(m.name))
		if md == nil || string(md.Input().Name()) != m.in || string(md.Output().Name()) != m.out || md.IsStreamingClient() || md.IsStreamingServer() {
			t.Errorf("method %s: %v", m.name, md)
		}
	}
}
