package tensorproto

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

// TestEncodedSize: EncodedSize is never under the marshalled size and at
// most a few bytes over it (dtype and shape), for both encodings.
func TestEncodedSize(t *testing.T) {
	for _, in := range []*tensor.Tensor{
		tensor.FromSlice(tensor.Shape{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		tensor.FromSlice(tensor.Shape{3}, []int64{-1, 1 << 40, 0}),
		tensor.FromSlice(tensor.Shape{4}, []int32{-1, 127, 128, math.MaxInt32}),
		tensor.FromSlice(tensor.Shape{2}, []string{"", string(make([]byte, 300))}),
		tensor.FromSlice(tensor.Shape{2}, []bool{true, false}),
		tensor.FromSlice(tensor.Shape{3}, []uint8{0, 200, 255}),
		tensor.FromSlice(tensor.Shape{2}, []int8{-1, 5}),
		tensor.FromSlice(tensor.Shape{2}, []float64{1e300, -2}),
		tensor.FromSlice(tensor.Shape{2}, []uint64{math.MaxUint64, 1}),
		tensor.FromSlice(tensor.Shape{2}, []uint32{math.MaxUint32, 1}),
		tensor.FromSlice(tensor.Shape{0, 5}, []float32{}),
		tensor.FromSlice(tensor.Shape{}, []float32{7}),
	} {
		for name, enc := range map[string]func(*tensor.Tensor) (*tfpb.TensorProto, error){"content": Encode, "typed": EncodeTyped} {
			p, err := enc(in)
			if err != nil {
				t.Fatalf("%s %v: %v", name, in.DType, err)
			}
			got, want := EncodedSize(in, name == "typed"), int64(proto.Size(p))
			if got < want || got > want+8+2*int64(len(in.Shape)) {
				t.Errorf("%s %v%v: EncodedSize %d, marshalled %d", name, in.DType, in.Shape, got, want)
			}
		}
	}
}

func TestDecodable(t *testing.T) {
	for dt, want := range map[tfpb.DataType]bool{
		tfpb.DataType_DT_FLOAT: true, tfpb.DataType_DT_STRING: true, tfpb.DataType_DT_HALF: true, tfpb.DataType_DT_COMPLEX128: true,
		tfpb.DataType_DT_INVALID: false, tfpb.DataType_DT_RESOURCE: false, tfpb.DataType_DT_VARIANT: false, tfpb.DataType(101): false, tfpb.DataType(999): false,
	} {
		if Decodable(dt) != want {
			t.Errorf("Decodable(%v) = %v", dt, !want)
		}
	}
}
