package loader_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/bundle"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/tensor"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func load(t *testing.T, dir string) *loader.Model {
	t.Helper()
	m, err := loader.Load(context.Background(), dir, loader.Options{Logger: quiet})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func run1(t *testing.T, m *loader.Model, sig string, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	out, err := m.Run(context.Background(), sig, in, nil)
	if err != nil {
		t.Fatalf("run %s: %v", sig, err)
	}
	return out
}

func f32s(t *testing.T, x *tensor.Tensor) []float32 {
	t.Helper()
	if x.DType.Base() != tensor.Float32 {
		t.Fatalf("want float32, got %v", x)
	}
	return x.F32()
}

func near(a, b float32) bool { d := a - b; return d < 1e-5 && d > -1e-5 }

// examples serializes tf.Examples with one float feature "x".
func examples(t *testing.T, key string, xs ...float32) *tensor.Tensor {
	t.Helper()
	var ser []string
	for _, x := range xs {
		ex := &tfpb.Example{Features: &tfpb.Features{Feature: map[string]*tfpb.Feature{
			key: {Kind: &tfpb.Feature_FloatList{FloatList: &tfpb.FloatList{Value: []float32{x}}}},
		}}}
		b, err := proto.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		ser = append(ser, string(b))
	}
	return tensor.FromSlice(tensor.Shape{len(ser)}, ser)
}

// checkHalfPlus checks every signature of a TF Serving half_plus_two-style
// model: y = 0.5x + 2 (predict, x_to_y), 0.5x + 3 (x_to_y2, x2_to_y3).
func checkHalfPlus(t *testing.T, m *loader.Model, plus float32) {
	xs := []float32{1, 2, -3}
	col := tensor.FromSlice(tensor.Shape{3, 1}, append([]float32(nil), xs...))
	for name, s := range m.Signatures() {
		var got []float32
		var b float32
		switch {
		case name == "__saved_model_init_op":
			continue
		case name == "serving_default" || name == "tensorflow/serving/predict":
			got, b = f32s(t, run1(t, m, name, map[string]*tensor.Tensor{"x": col})["y"]), plus
		case (strings.HasSuffix(name, "y2") || strings.HasSuffix(name, "y3")) && strings.Contains(m.Dir(), "_mkl"):
			// The MKL test model adds a convolution of random data to y2;
			// TF itself cannot broadcast it against a batch of 3.
			continue
		case name == "tensorflow/serving/regress":
			out := run1(t, m, name, map[string]*tensor.Tensor{"inputs": examples(t, "x", xs...)})
			for _, v := range out {
				got = f32s(t, v)
			}
			b = 3
		case strings.HasSuffix(name, "x2_to_y3"):
			out := run1(t, m, name, map[string]*tensor.Tensor{"inputs": col})
			for _, v := range out {
				got = f32s(t, v)
			}
			b = 3
		case strings.HasSuffix(name, "x_to_y") || strings.HasSuffix(name, "x_to_y2"):
			out := run1(t, m, name, map[string]*tensor.Tensor{"inputs": examples(t, "x", xs...)})
			for _, v := range out {
				got = f32s(t, v)
			}
			b = plus
			if strings.HasSuffix(name, "y2") {
				b = 3
			}
		default:
			t.Errorf("unexpected signature %s (%s)", name, s.MethodName)
			continue
		}
		if len(got) != len(xs) {
			t.Errorf("%s: got %v", name, got)
			continue
		}
		for i, x := range xs {
			if !near(got[i], 0.5*x+b) {
				t.Errorf("%s: f(%v) = %v, want %v", name, x, got[i], 0.5*x+b)
			}
		}
	}
}

// scalarVars reads every numeric scalar variable of a TF2 checkpoint.
func scalarVars(t *testing.T, dir string) []*tensor.Tensor {
	r, err := bundle.Open(filepath.Join(dir, "variables", "variables"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*tensor.Tensor
	for _, k := range r.Keys() {
		if !strings.HasSuffix(k, "/.ATTRIBUTES/VARIABLE_VALUE") {
			continue
		}
		v, err := r.Tensor(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestFixturesWithoutGolden(t *testing.T) {
	fx := fixtures.Dir(t)
	tfs := filepath.Join(fx, "tfserving/servables/tensorflow/testdata")
	tft := filepath.Join(fx, "tensorflow/testdata")
	tfjs := filepath.Join(fx, "tfjs/saved_model")

	t.Run("half_plus_two family", func(t *testing.T) {
		for _, d := range []string{
			tfs + "/saved_model_half_plus_two_cpu/00000123", tfs + "/saved_model_half_plus_two_gpu/00000123",
			tfs + "/saved_model_half_plus_two_gpu_trt/00000123", tfs + "/saved_model_half_plus_two_mkl/00000123",
			tfs + "/saved_model_half_plus_two_mlmd/00000123", tfs + "/saved_model_half_plus_two_tf2_cpu/00000123",
			tfs + "/saved_model_half_plus_two_2_versions/00000123", tfs + "/saved_model_half_plus_two_2_versions/00000124",
			tfs + "/saved_model_half_plus_two_cpu_with_saved_model_config/00000123",
			tfs + "/saved_model_half_plus_two_cpu_with_empty_saved_model_config/00000123",
			tft + "/half_plus_two/00000123", tft + "/half_plus_two_main_op/00000123",
			tft + "/half_plus_two_pbtxt/00000123", tft + "/half_plus_two_v2/00000123",
		} {
			t.Run(filepath.Base(filepath.Dir(d)), func(t *testing.T) { checkHalfPlus(t, load(t, d), 2) })
		}
		t.Run("half_plus_three", func(t *testing.T) { checkHalfPlus(t, load(t, tfs+"/saved_model_half_plus_three/00000123"), 3) })
	})

	t.Run("counter", func(t *testing.T) {
		m := load(t, tfs+"/saved_model_counter/00000123")
		get := func(sig string, in map[string]*tensor.Tensor) float32 {
			return f32s(t, run1(t, m, sig, in)["output"])[0]
		}
		steps := []struct {
			sig  string
			in   map[string]*tensor.Tensor
			want float32
		}{
			{"get_counter", nil, 0}, {"incr_counter", nil, 1}, {"incr_counter", nil, 2},
			{"incr_counter_by", map[string]*tensor.Tensor{"delta": tensor.Scalar(float32(3))}, 5},
			{"get_counter", nil, 5}, {"reset_counter", nil, 0}, {"get_counter", nil, 0},
		}
		for i, s := range steps {
			if got := get(s.sig, s.in); got != s.want {
				t.Fatalf("step %d %s: got %v, want %v", i, s.sig, got, s.want)
			}
		}
	})

	t.Run("tfjs", func(t *testing.T) {
		prod := func(dir string) int64 {
			p := int64(1)
			for _, v := range scalarVars(t, dir) {
				switch d := v.Data.(type) {
				case []int64:
					p *= d[0]
				case []int32:
					p *= int64(d[0])
				case []float32:
					p *= int64(d[0])
				}
			}
			return p
		}
		d := tfjs + "/int64_multiply"
		k := prod(d)
		out := run1(t, load(t, d), "serving_default", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{2}, []int64{3, -4})})
		if got := out["output_0"].I64(); len(got) != 2 || got[0] != 3*k || got[1] != -4*k {
			t.Errorf("int64_multiply: got %v, want x*%d", got, k)
		}
		d = tfjs + "/uint8_multiply"
		k = prod(d)
		out = run1(t, load(t, d), "serving_default", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1}, []uint8{200})})
		if got := out["output_0"].I32(); len(got) != 1 || int64(got[0]) != 200*k {
			t.Errorf("uint8_multiply: got %v, want 200*%d", got, k)
		}
		// tensorflow/tfjs tfjs-node/src/saved_model_test.ts states each
		// model's function:
		// module_with_multiple_signatures is 3x (serving_default) and 2x
		// (timestwo); model_single_input_multi_output is f(x) = [2x, x];
		// model_multi_output is f(x, y) = [2x, y]. The products below are
		// exact in float32.
		m := load(t, tfjs+"/module_with_multiple_signatures")
		for _, c := range []struct {
			sig string
			k   float32
		}{{"serving_default", 3}, {"timestwo", 2}} {
			for _, x := range []float32{1.5, -4, 0, 0.25, 1000} {
				got := f32s(t, run1(t, m, c.sig, map[string]*tensor.Tensor{"x": tensor.Scalar(x)})["output_0"])
				if len(got) != 1 || got[0] != c.k*x {
					t.Errorf("%s(%v) = %v, want %v", c.sig, x, got, c.k*x)
				}
			}
		}
		i32 := func(t *testing.T, name string, x *tensor.Tensor) int32 {
			t.Helper()
			if x == nil || x.DType.Base() != tensor.Int32 || len(x.Shape) != 0 || len(x.I32()) != 1 {
				t.Fatalf("%s: want an int32 scalar, got %v", name, x)
			}
			return x.I32()[0]
		}
		m = load(t, tfjs+"/model_single_input_multi_output")
		for _, x := range []int32{5, -7, 0, 123456} {
			out := run1(t, m, "serving_default", map[string]*tensor.Tensor{"x": tensor.Scalar(x)})
			if len(out) != 2 {
				t.Fatalf("model_single_input_multi_output: want 2 outputs, got %v", out)
			}
			if o0, o1 := i32(t, "output_0", out["output_0"]), i32(t, "output_1", out["output_1"]); o0 != 2*x || o1 != x {
				t.Errorf("model_single_input_multi_output(%d) = [%d, %d], want [%d, %d]", x, o0, o1, 2*x, x)
			}
		}
		m = load(t, tfjs+"/model_multi_output")
		for _, xy := range [][2]int32{{5, 7}, {-3, 11}, {0, -9}, {40000, 1}} {
			x, y := xy[0], xy[1]
			out := run1(t, m, "serving_default", map[string]*tensor.Tensor{"x": tensor.Scalar(x), "y": tensor.Scalar(y)})
			if len(out) != 2 {
				t.Fatalf("model_multi_output: want 2 outputs, got %v", out)
			}
			if o0, o1 := i32(t, "output_0", out["output_0"]), i32(t, "output_1", out["output_1"]); o0 != 2*x || o1 != y {
				t.Errorf("model_multi_output(%d, %d) = [%d, %d], want [%d, %d]", x, y, o0, o1, 2*x, y)
			}
		}
	})

	t.Run("VarsAndArithmeticObjectGraph", func(t *testing.T) {
		// tensorflow/cc/saved_model/testdata/generate_saved_models.py:
		// variables x = 1.0, y = 2.0, child.z = 3.0, the constant
		// child.c = 5.0, and compute(a, b) = (a + x) * (b + y) / z + c
		// (the checkpoint values are also those TF's restore_ops_test.cc
		// lists).
		d := tft + "/VarsAndArithmeticObjectGraph"
		r, err := bundle.Open(filepath.Join(d, "variables", "variables"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for k, want := range map[string]float32{"x": 1, "y": 2, "child/z": 3} {
			v, err := r.Tensor(k + "/.ATTRIBUTES/VARIABLE_VALUE")
			if err != nil {
				t.Fatal(err)
			}
			if got := f32s(t, v); len(got) != 1 || got[0] != want {
				t.Errorf("variable %s = %v, want %v", k, got, want)
			}
		}
		m := load(t, d)
		compute := func(a, b float32) float32 {
			t.Helper()
			got := f32s(t, run1(t, m, "serving_default", map[string]*tensor.Tensor{"a": tensor.Scalar(a), "b": tensor.Scalar(b)})["output_0"])
			if len(got) != 1 {
				t.Fatalf("compute(%v, %v) = %v, want one value", a, b, got)
			}
			return got[0]
		}
		// Exact in float32: (a+1)*(b+2) is a multiple of 3 or a short
		// binary fraction.
		for _, c := range []struct{ a, b, want float32 }{
			{2, 1, 8},         // 3*3/3 + 5
			{-1, 7, 5},        // 0*9/3 + 5: the constant alone
			{5, 4, 17},        // 6*6/3 + 5
			{-4, 1, 2},        // -3*3/3 + 5
			{0.5, -0.5, 5.75}, // 1.5*1.5/3 + 5
			{11, -2.5, 3},     // 12*-0.5/3 + 5
			{-7, -8, 17},      // -6*-6/3 + 5
		} {
			if got := compute(c.a, c.b); got != c.want {
				t.Errorf("compute(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
			}
		}
		// 28/3 is not representable: float32 rounds the quotient and the
		// sum, each by at most half an ulp (4.8e-7).
		if got, want := compute(3, 5), 4.0*7/3+5; math.Abs(float64(got)-want) > 2e-6 {
			t.Errorf("compute(3, 5) = %v, want %v", got, want)
		}
	})

	t.Run("AssetModule", func(t *testing.T) {
		m := load(t, tft+"/AssetModule")
		want, err := os.ReadFile(tft + "/AssetModule/assets/test_asset.txt")
		if err != nil {
			t.Fatal(err)
		}
		got := run1(t, m, "serving_default", map[string]*tensor.Tensor{})["output_0"].Strings()
		if len(got) != 1 || got[0] != string(want) {
			t.Errorf("got %q, want the asset's contents %q", got, want)
		}
	})

	t.Run("StaticHashTableModule", func(t *testing.T) {
		// generate_saved_models.py: a StaticHashTable from
		// static_hashtable_asset.txt, key the whole line, value the line
		// number, default -1. The asset's lines are foo, bar, baz, wombat
		// (TF's saved_model_api_test.cc expects the same ids).
		m := load(t, tft+"/StaticHashTableModule")
		words := []string{"foo", "bar", "baz", "wombat", "not-there", "", "Foo", "wombat ", "baz"}
		want := []int64{0, 1, 2, 3, -1, -1, -1, -1, 2}
		in := tensor.FromSlice(tensor.Shape{len(words)}, words)
		out := run1(t, m, "serving_default", map[string]*tensor.Tensor{"word": in})["output_0"]
		if out == nil || out.DType.Base() != tensor.Int64 {
			t.Fatalf("lookup: want int64 ids, got %v", out)
		}
		got := out.I64()
		if len(got) != len(want) {
			t.Fatalf("lookup(%q) = %v, want %v", words, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("lookup(%q) = %d, want %d", words[i], got[i], want[i])
			}
		}
	})

	t.Run("no serving signature", func(t *testing.T) {
		for _, d := range []string{tft + "/CyclicModule", tft + "/SimpleV1Model", fx + "/tfrs/sembago_retrieval/1"} {
			m := load(t, d)
			if _, err := m.Run(context.Background(), "serving_default", nil, nil); err == nil || !strings.Contains(err.Error(), "not found in signature def") {
				t.Errorf("%s: want signature-not-found, got %v", d, err)
			}
		}
	})

	t.Run("negative", func(t *testing.T) {
		cases := map[string]string{
			tft + "/fuzz_generated/bad_node_attr":                            "Const has no value",
			tft + "/fuzz_generated/const_with_no_value":                      "Const has no value",
			tft + "/fuzz_generated/negative_shape":                           "negative dimension",
			tfs + "/bad_half_plus_two/00000123":                              "legacy SessionBundle",
			fx + "/tfserving/session_bundle/testdata/half_plus_two/00000123": "legacy SessionBundle",
			tfs + "/saved_model_half_plus_two_tflite/00000123":               "TensorFlow Lite",
			tfs + "/tf_text_regression_2020-07/01":                           "unsupported ops",
			tfs + "/parse_example_tflite/00000123":                           "TensorFlow Lite",
		}
		for d, want := range cases {
			_, err := loader.Load(context.Background(), d, loader.Options{Logger: quiet})
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: want an error containing %q, got %v", d, want, err)
			}
		}
	})
}

// saved_model_half_plus_three stores serving_default's TensorInfos without
// a tensor_shape: the signature says so (NoShape, printed without one by
// both APIs) and checks it as unknown rank.
func TestSignatureWithoutShape(t *testing.T) {
	d := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_three/00000123")
	m, err := loader.Load(context.Background(), d, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := m.Signatures()["serving_default"].Inputs["x"]
	if !in.NoShape || !in.UnknownRank || in.Dims != nil {
		t.Errorf("serving_default input x = %+v; want NoShape and UnknownRank", in)
	}
	if out := m.Signatures()["serving_default"].Outputs["y"]; !out.NoShape {
		t.Errorf("serving_default output y = %+v; want NoShape", out)
	}
}
