package jsontensor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

func TestPredictResponseBytes(t *testing.T) {
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tt(tensor.Float32, shape, v) }
	cases := []struct {
		name   string
		format Format
		out    map[string]*tensor.Tensor
		order  []string
		want   string
	}{
		{"row vector", Row, map[string]*tensor.Tensor{"y": f32(tensor.Shape{3}, 2.5, 3, 4.5)}, nil,
			"{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}"},
		{"row matrix", Row, map[string]*tensor.Tensor{"y": f32(tensor.Shape{2, 2}, 1, 2, 3, 4)}, nil,
			"{\n    \"predictions\": [[1.0, 2.0], [3.0, 4.0]\n    ]\n}"},
		{"row empty batch", Row, map[string]*tensor.Tensor{"y": f32(tensor.Shape{0, 4})}, nil,
			"{\n    \"predictions\": []\n}"},
		{"row multi", Row, map[string]*tensor.Tensor{
			"a":       tt(tensor.Int32, tensor.Shape{2, 2}, []int32{1, 2, 3, 4}),
			"b_bytes": tt(tensor.String, tensor.Shape{2}, []string{"hi", ""}),
			"c":       tt(tensor.String, tensor.Shape{2}, []string{"x", "y\n\"\x01"}),
		}, nil,
			"{\n    \"predictions\": [\n        {\n            \"a\": [1, 2],\n            \"b_bytes\": {\n                \"b64\": \"aGk=\"\n            },\n            \"c\": \"x\"\n        },\n" +
				"        {\n            \"a\": [3, 4],\n            \"b_bytes\": {\n                \"b64\": \"\"\n            },\n            \"c\": \"y\\n\\\"\\u0001\"\n        }\n    ]\n}"},
		{"row multi ordered", Row, map[string]*tensor.Tensor{
			"b": tt(tensor.Bool, tensor.Shape{1}, []bool{true}),
			"a": tt(tensor.Int64, tensor.Shape{1, 0}, []int64{}),
		}, []string{"b", "a"},
			"{\n    \"predictions\": [\n        {\n            \"b\": true,\n            \"a\": []\n        }\n    ]\n}"},
		{"columnar vector", Columnar, map[string]*tensor.Tensor{"y": f32(tensor.Shape{2}, 1, 2)}, nil,
			"{\n    \"outputs\": [\n        1.0,\n        2.0\n    ]\n}"},
		{"columnar scalar", Columnar, map[string]*tensor.Tensor{"y": tt(tensor.Float64, tensor.Shape{}, []float64{1.0 / 3})}, nil,
			"{\n    \"outputs\": 0.33333333333333331\n}"},
		{"columnar multi", Columnar, map[string]*tensor.Tensor{
			"x": f32(tensor.Shape{2, 1}, 1, float32(math.NaN())),
			"y": tt(tensor.Int64, tensor.Shape{}, []int64{-7}),
			"z": tt(tensor.Uint8, tensor.Shape{0}, []uint8{}),
		}, nil,
			"{\n    \"outputs\": {\n        \"x\": [\n            [\n                1.0\n            ],\n            [\n                NaN\n            ]\n        ],\n        \"y\": -7,\n        \"z\": []\n    }\n}"},
		{"columnar bytes", Columnar, map[string]*tensor.Tensor{"img_bytes": tt(tensor.String, tensor.Shape{1}, []string{"\x00\xff"})}, nil,
			"{\n    \"outputs\": [\n        {\n            \"b64\": \"AP8=\"\n        }\n    ]\n}"},
		{"integer types", Columnar, map[string]*tensor.Tensor{
			"a": tt(tensor.Int8, tensor.Shape{1}, []int8{-128}),
			"b": tt(tensor.Int16, tensor.Shape{1}, []int16{-300}),
			"c": tt(tensor.Uint32, tensor.Shape{1}, []uint32{math.MaxUint32}),
			"d": tt(tensor.Uint64, tensor.Shape{1}, []uint64{math.MaxUint64}),
		}, nil,
			"{\n    \"outputs\": {\n        \"a\": [\n            -128\n        ],\n        \"b\": [\n            -300\n        ],\n        \"c\": [\n            4294967295\n        ],\n        \"d\": [\n            18446744073709551615\n        ]\n    }\n}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := []byte("HTTP-prefix:")
			got, err := AppendPredictResponse(prefix, c.format, c.out, c.order)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, []byte("HTTP-prefix:")) || string(got[len("HTTP-prefix:"):]) != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func TestPredictResponseErrors(t *testing.T) {
	ok := tt(tensor.Float32, tensor.Shape{2}, []float32{1, 2})
	cases := []struct {
		name   string
		format Format
		out    map[string]*tensor.Tensor
		order  []string
		code   status.Code
		msg    string
	}{
		{"empty", Row, nil, nil, status.InvalidArgument, "Cannot convert empty tensor map to JSON"},
		{"invalid format", FormatInvalid, map[string]*tensor.Tensor{"y": ok}, nil, status.InvalidArgument, "Invalid request format"},
		{"rank 0 row", Row, map[string]*tensor.Tensor{"y": tt(tensor.Float32, tensor.Shape{}, []float32{1})}, nil,
			status.InvalidArgument, "Tensor name: y has no shape information "},
		{"batch mismatch", Row, map[string]*tensor.Tensor{"a": ok, "b": tt(tensor.Float32, tensor.Shape{3}, []float32{1, 2, 3})}, nil,
			status.InvalidArgument, "Tensor name: b has inconsistent batch size: 3 expecting: 2"},
		{"half", Columnar, map[string]*tensor.Tensor{"y": tt(tensor.Half, tensor.Shape{1}, []uint16{0})}, nil,
			status.InvalidArgument, "Failed to write JSON value for tensor type: half"},
		{"complex", Row, map[string]*tensor.Tensor{"y": tt(tensor.Complex64, tensor.Shape{1}, []complex64{1})}, nil,
			status.InvalidArgument, "Failed to write JSON value for tensor type: complex64"},
		{"bad order", Row, map[string]*tensor.Tensor{"y": ok}, []string{"z"}, status.Internal, `output order names "z", which is not an output`},
		{"wrong data", Row, map[string]*tensor.Tensor{"y": tt(tensor.Float32, tensor.Shape{3}, []float32{1})}, nil,
			status.Internal, "output y: tensor of shape [3] holds 1 elements"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendPredictResponse(dst, c.format, c.out, c.order)
			if err == nil || err.Error() != c.msg || status.CodeOf(err) != c.code {
				t.Fatalf("got %v (%v), want %q (%v)", err, status.CodeOf(err), c.msg, c.code)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

func TestClassifyRegressErrorResponses(t *testing.T) {
	got, err := AppendClassifyResponse(nil, 0, [][]Class{{{"a", 0.9}, {"b", 0.1}}, {{"c", 0.5}}, {}})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n    \"results\": [[[\"a\", 0.9], [\"b\", 0.1]], [[\"c\", 0.5]], []\n    ]\n}"
	if string(got) != want {
		t.Errorf("classify got\n%s\nwant\n%s", got, want)
	}
	if _, err := AppendClassifyResponse(nil, 0, nil); err == nil || err.Error() != "Cannot convert empty ClassificationResults to JSON" {
		t.Errorf("empty classify: %v", err)
	}
	got, err = AppendRegressResponse(nil, 0, []float32{0.2, float32(math.Inf(1)), 1, float32(math.Inf(-1)), float32(math.NaN())})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n    \"results\": [0.2, Infinity, 1.0, -Infinity, NaN]\n}"; string(got) != want {
		t.Errorf("regress got\n%s\nwant\n%s", got, want)
	}
	if _, err := AppendRegressResponse(nil, 0, nil); err == nil || err.Error() != "Cannot convert empty RegressionResults to JSON" {
		t.Errorf("empty regress: %v", err)
	}
	if got := string(AppendErrorResponse(nil, `Bad key: "key"`)); got != "{\n    \"error\": \"Bad key: \\\"key\\\"\"\n}" {
		t.Errorf("error body %q", got)
	}
}

func ulpDiff(a, b float64) uint64 {
	if a == b {
		return 0
	}
	if math.Signbit(a) != math.Signbit(b) {
		return math.MaxUint64
	}
	x, y := math.Float64bits(a), math.Float64bits(b)
	if x > y {
		return x - y
	}
	return y - x
}

// TestRoundTrip writes random tensors and parses the response back as a
// request (renaming "predictions"/"outputs" to "instances"/"inputs"): every
// value, including NaN and infinities, must come back with the same bits.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 300 {
		shape := tensor.Shape{1 + r.IntN(4), r.IntN(4), 1 + r.IntN(3)}
		n := shape.NumElements()
		f := make([]float32, n)
		d := make([]float64, n)
		s := make([]string, n)
		for i := range f {
			switch r.IntN(10) {
			case 0:
				f[i], d[i] = float32(math.Inf(1-2*r.IntN(2))), math.Inf(-1)
			case 1:
				f[i], d[i] = float32(math.NaN()), math.NaN()
			default:
				f[i] = math.Float32frombits(r.Uint32())
				d[i] = math.Float64frombits(r.Uint64())
			}
			b := make([]byte, r.IntN(6))
			for j := range b {
				b[j] = byte(r.IntN(256))
			}
			s[i] = string(b)
		}
		outs := map[string]*tensor.Tensor{
			"f":       tt(tensor.Float32, shape, f),
			"d":       tt(tensor.Float64, shape, d),
			"s_bytes": tt(tensor.String, shape, s),
		}
		sig := sigOf(map[string]tensor.DType{"f": tensor.Float32, "d": tensor.Float64, "s_bytes": tensor.String})
		for _, format := range []Format{Row, Columnar} {
			body, err := AppendPredictResponse(nil, format, outs, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := strings.Replace(string(body), `"predictions"`, `"instances"`, 1)
			req = strings.Replace(req, `"outputs"`, `"inputs"`, 1)
			back, err := ParsePredictRequest([]byte(req), sig)
			if err != nil {
				t.Fatalf("iter %d %v: %v\n%s", iter, format, err, body)
			}
			if n == 0 {
				continue // "[[], []]" cannot say how long the missing rows were
			}
			for name, want := range outs {
				got := back.Inputs[name]
				if !got.Shape.Equal(want.Shape) {
					t.Fatalf("iter %d %v %s: shape %v want %v", iter, format, name, got.Shape, want.Shape)
				}
				for i := range n {
					switch name {
					case "f":
						a, b := got.F32()[i], f[i]
						if math.Float32bits(a) != math.Float32bits(b) && !(a != a && b != b) {
							t.Fatalf("f[%d] %v != %v", i, a, b)
						}
					case "d":
						// rapidjson (and so TF Serving and this parser) does not
						// parse 17-digit decimals with correct rounding: allow
						// a few ulps.
						a, b := got.F64()[i], d[i]
						if ulpDiff(a, b) > 4 && !(a != a && b != b) {
							t.Fatalf("d[%d] %v != %v (text %s)", i, a, b, AppendFloat64(nil, b))
						}
					default:
						if got.Strings()[i] != s[i] {
							t.Fatalf("s[%d] %q != %q", i, got.Strings()[i], s[i])
						}
					}
				}
			}
		}
	}
}
