package tensorproto

import (
	"errors"
	"math"
	"testing"

	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

func shape(d ...int64) *tfpb.TensorShapeProto {
	p := &tfpb.TensorShapeProto{}
	for _, s := range d {
		p.Dim = append(p.Dim, &tfpb.TensorShapeProto_Dim{Size: s})
	}
	return p
}

func TestDecodeForms(t *testing.T) {
	// One value fills the whole tensor (TF's broadcast of a short field).
	got, err := Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(2, 3), FloatVal: []float32{1.5}})
	if err != nil || len(got.F32()) != 6 || got.F32()[5] != 1.5 {
		t.Fatalf("broadcast: %v %v", got, err)
	}
	// Short fields repeat their last value; no values mean zeros.
	got, _ = Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT64, TensorShape: shape(4), Int64Val: []int64{7, 8}})
	if v := got.I64(); v[0] != 7 || v[1] != 8 || v[2] != 8 || v[3] != 8 {
		t.Errorf("pad: %v", v)
	}
	got, _ = Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_INT32, TensorShape: shape(3)})
	if v := got.I32(); len(v) != 3 || v[0] != 0 {
		t.Errorf("zeros: %v", v)
	}
	// tensor_content, little endian.
	got, err = Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(2), TensorContent: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}})
	if err != nil || got.F32()[0] != 1 || got.F32()[1] != 2 {
		t.Errorf("content: %v %v", got, err)
	}
	// Small ints travel in int_val, strings in string_val.
	got, _ = Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_UINT8, TensorShape: shape(2), IntVal: []int32{200, 3}})
	if v := got.Data.([]uint8); v[0] != 200 || v[1] != 3 {
		t.Errorf("uint8: %v", v)
	}
	got, _ = Decode(&tfpb.TensorProto{Dtype: tfpb.DataType_DT_STRING, TensorShape: shape(), StringVal: [][]byte{[]byte("hé")}})
	if got.Strings()[0] != "hé" || len(got.Shape) != 0 {
		t.Errorf("string scalar: %v", got)
	}
	for name, bad := range map[string]*tfpb.TensorProto{
		"too many values":   {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(1), FloatVal: []float32{1, 2}},
		"content length":    {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(2), TensorContent: []byte{1, 2, 3}},
		"negative dim":      {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(-1)},
		"unknown rank":      {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: &tfpb.TensorShapeProto{UnknownRank: true}},
		"string content":    {Dtype: tfpb.DataType_DT_STRING, TensorShape: shape(1), TensorContent: []byte{1}},
		"huge empty tensor": {Dtype: tfpb.DataType_DT_FLOAT, TensorShape: shape(1<<20, 1<<20)},
	} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, in := range []*tensor.Tensor{
		tensor.FromSlice(tensor.Shape{2, 2}, []float32{1, float32(math.Inf(-1)), -0.5, 3}),
		tensor.FromSlice(tensor.Shape{3}, []int64{-1, 1 << 40, 0}),
		tensor.FromSlice(tensor.Shape{2}, []string{"a", "\x00b"}),
		tensor.FromSlice(tensor.Shape{2}, []bool{true, false}),
		tensor.FromSlice(tensor.Shape{1}, []uint8{255}),
		tensor.FromSlice(tensor.Shape{2}, []float64{1e300, -2}),
	} {
		for name, enc := range map[string]func(*tensor.Tensor) (*tfpb.TensorProto, error){"content": Encode, "typed": EncodeTyped} {
			p, err := enc(in)
			if err != nil {
				t.Fatalf("%s %v: %v", name, in, err)
			}
			out, err := Decode(p)
			if err != nil {
				t.Fatalf("%s %v: %v", name, in, err)
			}
			if out.DType != in.DType || !out.Shape.Equal(in.Shape) {
				t.Fatalf("%s: %v became %v", name, in, out)
			}
			a, _ := in.Bytes()
			b, _ := out.Bytes()
			if in.DType == tensor.String {
				for i := range in.Strings() {
					if in.Strings()[i] != out.Strings()[i] {
						t.Errorf("%s strings differ", name)
					}
				}
			} else if string(a) != string(b) {
				t.Errorf("%s: %v round-tripped to different bytes", name, in)
			}
		}
	}
}

func TestDecodeLimitedChargesBeforeAllocating(t *testing.T) {
	// 42-byte hostile shape: 2^31 float elements from one value.
	p := &tfpb.TensorProto{Dtype: tfpb.DataType(tensor.Float32), FloatVal: []float32{1},
		TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 1 << 16}, {Size: 1 << 15}}}}
	var gotN, gotB int64
	refuse := errors.New("over budget")
	_, err := DecodeLimited(p, func(n, b int64) error { gotN, gotB = n, b; return refuse })
	if err != refuse || gotN != 1<<31 || gotB != 1<<33 {
		t.Fatalf("charged (%d, %d), err %v; want (2^31, 2^33) and the budget's error", gotN, gotB, err)
	}
	s := &tfpb.TensorProto{Dtype: tfpb.DataType(tensor.String), StringVal: [][]byte{[]byte("ab"), []byte("xyz")},
		TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 5}}}}
	if _, err := DecodeLimited(s, func(n, b int64) error { gotN, gotB = n, b; return nil }); err != nil {
		t.Fatal(err)
	}
	if want := int64(5*16 + 2 + 3 + 3*3); gotN != 5 || gotB != want {
		t.Fatalf("strings charged (%d, %d), want (5, %d)", gotN, gotB, want)
	}
	deep := &tfpb.TensorProto{Dtype: tfpb.DataType(tensor.Float32), TensorShape: &tfpb.TensorShapeProto{}}
	for range MaxRank + 1 {
		deep.TensorShape.Dim = append(deep.TensorShape.Dim, &tfpb.TensorShapeProto_Dim{Size: 1})
	}
	if _, err := Decode(deep); err == nil {
		t.Fatal("rank 255 decoded")
	}
	short := &tfpb.TensorProto{Dtype: tfpb.DataType(tensor.Float32), TensorContent: make([]byte, 7),
		TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: 2}}}}
	if _, err := Decode(short); err == nil {
		t.Fatal("7 bytes of tensor_content decoded as 2 floats")
	}
}
