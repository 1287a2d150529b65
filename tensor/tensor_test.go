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

func TestBroadcast(t *testing.T) {
	cases := []struct {
		a, b, want Shape
		ok         bool
	}{
		{Shape{2, 3}, Shape{3}, Shape{2, 3}, true},
		{Shape{2, 1}, Shape{1, 4}, Shape{2, 4}, true},
		{Shape{}, Shape{5, 1}, Shape{5, 1}, true},
		{Shape{4, 1, 3}, Shape{2, 1}, Shape{4, 2, 3}, true},
		{Shape{2, 3}, Shape{4}, nil, false},
		{Shape{2, 3}, Shape{3, 3}, nil, false},
		// Unknown dims, as TF's shape inference treats them.
		{Shape{-1, 3}, Shape{1, 3}, Shape{-1, 3}, true},
		{Shape{-1, 3}, Shape{5, 3}, Shape{5, 3}, true},
		{Shape{7}, Shape{-1}, Shape{7}, true},
		{Shape{-1}, Shape{-1}, Shape{-1}, true},
	}
	for _, c := range cases {
		got, ok := Broadcast(c.a, c.b)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; want %v, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
		// Broadcasting is symmetric.
		if got2, ok2 := Broadcast(c.b, c.a); ok2 != ok || !got2.Equal(got) {
			t.Errorf("Broadcast(%v, %v) = %v, %v; not symmetric", c.b, c.a, got2, ok2)
		}
	}
}
