package tensor

import "testing"

func TestBytesRoundTripAndValidate(t *testing.T) {
	for _, dt := range []DType{Float32, Float64, Int32, Int64, Uint8, Int8, Int16, Uint16, Uint32, Uint64, Bool, Half} {
		x := New(dt, Shape{2, 3})
		b, err := x.Bytes()
		if err != nil || len(b) != 6*dt.Size() {
			t.Fatalf("%v: %d bytes, %v", dt, len(b), err)
		}
		for i := range b {
			b[i] = byte(i % 2)
		}
		y, err := FromBytes(dt, Shape{2, 3}, b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := y.Bytes()
		if string(b2) != string(b) || y.Validate() != nil {
			t.Errorf("%v: round trip differs", dt)
		}
	}
	if _, err := FromBytes(Float32, Shape{2}, []byte{1, 2, 3}); err == nil {
		t.Error("short buffer accepted")
	}
	bad := &Tensor{DType: Float32, Shape: Shape{2}, Data: []int32{1, 2}}
	if bad.Validate() == nil {
		t.Error("wrong Go type accepted")
	}
	if (&Tensor{DType: Float32, Shape: Shape{3}, Data: []float32{1}}).Validate() == nil {
		t.Error("wrong length accepted")
	}
	if s := DType(0x0c8467c3).String(); s == "" {
		t.Error("empty name")
	}
	if Float32.String() != "DT_FLOAT" || (Float32+100).String() != "DT_FLOAT_REF" || (Float32+100).Base() != Float32 {
		t.Error("names")
	}
}
