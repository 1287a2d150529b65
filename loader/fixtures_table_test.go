package loader_test

import (
	"context"
	"io"
	"log/slog"
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
		m := load(t, tfjs+"/module_with_multiple_signatures")
		for _, sig := range []string{"serving_default", "timestwo"} {
			got := f32s(t, run1(t, m, sig, map[string]*tensor.Tensor{"x": tensor.Scalar(float32(1.5))})["output_0"])
			if len(got) != 1 || got[0] == 0 {
				t.Errorf("%s: got %v", sig, got)
			}
		}
		for _, name := range []string{"model_multi_output", "model_single_input_multi_output"} {
			m := load(t, tfjs+"/"+name)
			in := map[string]*tensor.Tensor{"x": tensor.Scalar(int32(5))}
			if name == "model_multi_output" {
				in["y"] = tensor.Scalar(int32(7))
			}
			out := run1(t, m, "serving_default", in)
			if len(out) != 2 || out["output_0"] == nil || out["output_1"] == nil {
				t.Errorf("%s: want two outputs, got %v", name, out)
			}
		}
	})

	t.Run("VarsAndArithmeticObjectGraph", func(t *testing.T) {
		m := load(t, tft+"/VarsAndArithmeticObjectGraph")
		a, b := float32(3), float32(5)
		got := f32s(t, run1(t, m, "serving_default", map[string]*tensor.Tensor{"a": tensor.Scalar(a), "b": tensor.Scalar(b)})["output_0"])
		if len(got) != 1 {
			t.Fatalf("got %v", got)
		}
		// compute(a, b) = (a + x) * (b + y) / z + 2 for the module's
		// variables; with a=-x the product vanishes and the result is 2.
		if got[0] == 0 {
			t.Errorf("got 0")
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
		m := load(t, tft+"/StaticHashTableModule")
		in := tensor.FromSlice(tensor.Shape{3}, []string{"foo", "wombat", "not-there"})
		got := run1(t, m, "serving_default", map[string]*tensor.Tensor{"word": in})["output_0"].I64()
		if len(got) != 3 || got[0] == got[1] || got[2] == got[0] || got[2] == got[1] {
			t.Errorf("lookup got %v; want distinct ids for two vocabulary words and the default", got)
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
