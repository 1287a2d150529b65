package hostile

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
)

func shape(dims ...int64) *tfpb.TensorShapeProto {
	s := &tfpb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
	}
	return s
}

func predictReq(model, sig, input string, tp *tfpb.TensorProto) *servingpb.PredictRequest {
	return &servingpb.PredictRequest{
		ModelSpec: &servingpb.ModelSpec{Name: model, SignatureName: sig},
		Inputs:    map[string]*tfpb.TensorProto{input: tp},
	}
}

// grpcPredictExpect sends req and expects code with one of flags named.
func grpcPredictExpect(ctx context.Context, t *Target, req *servingpb.PredictRequest, code codes.Code, flags ...string) error {
	_, err := servingpb.NewPredictionServiceClient(t.GRPC).Predict(ctx, req)
	t.logf("%d-byte request: %v", proto.Size(req), err)
	return expectGRPC(err, code, flags...)
}

var budgetFlags = []string{"request_max_elements", "request_max_bytes"}

func grpcCases() []Case {
	return []Case{
		{Name: "grpc/huge_shape_42_bytes", Run: func(ctx context.Context, t *Target) error {
			// One float value declared as [65536, 32768]: 8 GiB if expanded.
			req := predictReq(t.Model, "", "x", &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(65536, 32768), FloatVal: []float32{1}})
			if n := proto.Size(req); n > 64 {
				return fmt.Errorf("test bug: request is %d bytes", n)
			}
			return grpcPredictExpect(ctx, t, req, codes.InvalidArgument, budgetFlags...)
		}},
		{Name: "grpc/huge_shape_any_dtype", Run: func(ctx context.Context, t *Target) error {
			for _, dt := range []tfpb.DataType{tfpb.DataType_DT_INT8, tfpb.DataType_DT_DOUBLE, tfpb.DataType_DT_COMPLEX128, tfpb.DataType_DT_BOOL, tfpb.DataType_DT_STRING, tfpb.DataType_DT_HALF} {
				tp := &tfpb.TensorProto{Dtype: dt, TensorShape: shape(65536, 32768), TensorContent: nil, IntVal: []int32{1}}
				if err := grpcPredictExpect(ctx, t, predictReq(t.Model, "", "x", tp), codes.InvalidArgument); err != nil {
					return fmt.Errorf("%v: %w", dt, err)
				}
			}
			return nil
		}},
		{Name: "grpc/huge_string_tensor", Run: func(ctx context.Context, t *Target) error {
			// The classify signature's string input, declared with 2^30
			// elements and given one 1 MiB string.
			tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_STRING, TensorShape: shape(1 << 30), StringVal: [][]byte{make([]byte, 1<<20)}}
			return grpcPredictExpect(ctx, t, predictReq(t.Model, "classify_x_to_y", "inputs", tp), codes.InvalidArgument, budgetFlags...)
		}},
		{Name: "grpc/many_strings", Run: func(ctx context.Context, t *Target) error {
			// 1M empty strings in a 2 MiB message: within budgets, so either
			// answered or refused cleanly; the point is memory.
			ss := make([][]byte, 1<<20)
			tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_STRING, TensorShape: shape(1 << 20), StringVal: ss}
			_, err := servingpb.NewPredictionServiceClient(t.GRPC).Predict(ctx, predictReq(t.Model, "classify_x_to_y", "inputs", tp))
			if err == nil {
				return fmt.Errorf("1M empty serialized tf.Examples were accepted as a predict input")
			}
			return expectGRPC(err, codes.InvalidArgument)
		}},
		{Name: "grpc/rank_255", Run: func(ctx context.Context, t *Target) error {
			dims := make([]int64, 255)
			for i := range dims {
				dims[i] = 1
			}
			tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(dims...), FloatVal: []float32{1}}
			return grpcPredictExpect(ctx, t, predictReq(t.AnyShapeModel, "", "x", tp), codes.InvalidArgument, "request_max_rank")
		}},
		{Name: "grpc/negative_dims", Run: func(ctx context.Context, t *Target) error {
			for _, dims := range [][]int64{{-5, 1}, {-1}, {1 << 62, 1 << 62, 4}, {1 << 40, 1 << 40}, {-(1 << 62), -(1 << 62)}} {
				tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(dims...), FloatVal: []float32{1}}
				if err := grpcPredictExpect(ctx, t, predictReq(t.Model, "", "x", tp), codes.InvalidArgument); err != nil {
					return fmt.Errorf("dims %v: %w", dims, err)
				}
			}
			return nil
		}},
		{Name: "grpc/short_tensor_content", Run: func(ctx context.Context, t *Target) error {
			tp := &tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(1<<28, 1), TensorContent: make([]byte, 12)}
			return grpcPredictExpect(ctx, t, predictReq(t.Model, "", "x", tp), codes.InvalidArgument)
		}},
		{Name: "grpc/regress_context_bomb", Run: func(ctx context.Context, t *Target) error {
			// A 1 MiB context (262,144 floats under the model's feature x)
			// and 300 empty examples: 300 MiB once merged.
			vals := make([]float32, 1<<18)
			context0 := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
				"x": {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: vals}}},
			}}}
			examples := make([]*tfpb.Example, 300)
			for i := range examples {
				examples[i] = &tfpb.Example{}
			}
			req := &servingpb.RegressionRequest{
				ModelSpec: &servingpb.ModelSpec{Name: t.Model, SignatureName: "regress_x_to_y"},
				Input: &servingpb.Input{Kind: &servingpb.Input_ExampleListWithContext{ExampleListWithContext: &servingpb.ExampleListWithContext{
					Examples: examples, Context: context0,
				}}},
			}
			_, err := servingpb.NewPredictionServiceClient(t.GRPC).Regress(ctx, req)
			t.logf("%d-byte request: %v", proto.Size(req), err)
			return expectGRPC(err, codes.InvalidArgument, budgetFlags...)
		}},
	}
}
