package gorgonia_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/tensor"
)

// fixture is one model served through both engines.
type fixture struct {
	dir string // relative to the fixtures folder
	// fusion selects the loader's fused GRU (lowered by the engine's GRU
	// equations); false keeps TensorFlow's While loop (unrolled).
	fusion bool
	// unsupported, when set, is a substring of the error New must return.
	unsupported string
}

var fixtureCases = []fixture{
	{dir: "keras/gru/beagle_music_genre", fusion: true},
	{dir: "keras/gru/christopher_stock", fusion: true},
	{dir: "keras/gru/christopher_stock", fusion: false},
	{dir: "keras/gru/joshschaff_datathon", fusion: true},
	{dir: "keras/gru/juanchimdo_splocked_test", fusion: true},
	{dir: "keras/gru/underthestars_timeseries", fusion: true},
	{dir: "tensorflow/testdata/half_plus_two", fusion: true},
	{dir: "tensorflow/testdata/half_plus_two_v2", fusion: true},
	{dir: "tensorflow/testdata/x_plus_y_v2_debuginfo", fusion: true},
	{dir: "tfjs/saved_model/times_three_float", fusion: true},
	{dir: "tfjs/saved_model/times_two_int", fusion: true},
	{dir: "tfserving/batching/testdata/matrix_half_plus_two", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_three", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_2_versions", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu_with_empty_saved_model_config", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu_with_saved_model_config", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_mlmd", fusion: true},
	{dir: "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_tf2_cpu", fusion: true},
	// TFRS: top-k, id and hash-table lookups as kernel nodes, string
	// lookups in the host stage before the graph, ScaNN's search as a
	// kernel node calling package ann.
	{dir: "tfrs/bangkit_events_retrieval", fusion: true},
	{dir: "tfrs/bangkit_events_ranking", fusion: true},
	{dir: "tfrs/sembago_ranking", fusion: true},
	{dir: "tfrs/universaldot_labse_index", fusion: true},
}

func load(t testing.TB, fx string, f fixture) *loader.Model {
	t.Helper()
	m, err := loader.Load(context.Background(), golden.VersionDir(t, filepath.Join(fx, f.dir)), loader.Options{DisableFusion: !f.fusion})
	if err != nil {
		t.Fatalf("load %s: %v", f.dir, err)
	}
	return m
}

// TestFixturesBothEngines serves each fixture's golden requests through
// tfserve's engine and through gorgonia, checks both against the golden
// and the two against each other.
func TestFixturesBothEngines(t *testing.T) {
	fx := fixtures.Dir(t)
	for _, f := range fixtureCases {
		t.Run(fmt.Sprintf("%s/fusion=%v", f.dir, f.fusion), func(t *testing.T) {
			m := load(t, fx, f)
			defer m.Close()
			gm, err := gorgonia.New(m, gorgonia.Options{})
			if f.unsupported != "" {
				if err == nil {
					t.Fatalf("New succeeded; want an error containing %q", f.unsupported)
				}
				if !strings.Contains(err.Error(), f.unsupported) {
					t.Fatalf("New: %v; want %q", err, f.unsupported)
				}
				t.Logf("unsupported as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			g, err := golden.Read(filepath.Join(fx, f.dir, "golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range g.Cases {
				ours, err := golden.Predict(m, c.Request)
				if err != nil {
					t.Fatalf("case %d (%s): tfserve engine: %v", i, c.Desc, err)
				}
				theirs, err := golden.Predict(gm, c.Request)
				if err != nil {
					t.Errorf("case %d (%s): gorgonia engine: %v", i, c.Desc, err)
					continue
				}
				if err := c.Check(ours); err != nil {
					t.Errorf("case %d (%s): tfserve engine vs golden: %v", i, c.Desc, err)
				}
				if err := c.Check(theirs); err != nil {
					t.Errorf("case %d (%s): gorgonia engine vs golden: %v", i, c.Desc, err)
				}
				cross := golden.Case{Expected: ours, Atol: 1e-5, Rtol: 1e-4}
				if err := cross.Check(theirs); err != nil {
					t.Errorf("case %d (%s): gorgonia vs tfserve engine: %v", i, c.Desc, err)
				}
			}
		})
	}
}

// TestUnsupportedOpNamed: a model whose request-dependent path holds an
// op gorgonia has no lowering for (Cumsum) is refused by New with an
// *UnsupportedError naming the op and the node.
func TestUnsupportedOpNamed(t *testing.T) {
	b := modelwriter.New()
	x := b.Placeholder("x", tensor.Float32, tensor.Shape{-1, 3})
	axis := b.Const("axis", tensor.Scalar(int32(1)))
	y := b.Op("running_total", "Cumsum", []string{x, axis}, map[string]any{"T": tensor.Float32, "Tidx": tensor.Int32})
	b.Signature("serving_default", "tensorflow/serving/predict",
		map[string]modelwriter.TensorSpec{"x": {Name: x + ":0", DType: tensor.Float32, Shape: tensor.Shape{-1, 3}}},
		map[string]modelwriter.TensorSpec{"y": {Name: y + ":0", DType: tensor.Float32, Shape: tensor.Shape{-1, 3}}})
	dir := t.TempDir()
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	m, err := loader.Load(context.Background(), dir, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = gorgonia.New(m, gorgonia.Options{})
	var ue *gorgonia.UnsupportedError
	if !errors.As(err, &ue) || ue.Op != "Cumsum" || ue.Node != "running_total" {
		t.Fatalf("New: %v; want an UnsupportedError for op Cumsum, node running_total", err)
	}
	const want = "gorgonia engine: op Cumsum (node running_total) cannot be expressed with gorgonia ops"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

// TestConcurrentMixedBatches runs 8 goroutines × 50 requests of mixed batch
// sizes on one gorgonia model and compares every answer with tfserve's
// engine on the same input.
func TestConcurrentMixedBatches(t *testing.T) {
	fx := fixtures.Dir(t)
	m := load(t, fx, fixture{dir: "keras/gru/christopher_stock", fusion: true})
	defer m.Close()
	gm, err := gorgonia.New(m, gorgonia.Options{})
	if err != nil {
		t.Fatal(err)
	}
	batches := []int{1, 2, 3, 5}
	const workers, perWorker = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				b := batches[(w+i)%len(batches)]
				x := tensor.New(tensor.Float32, tensor.Shape{b, 14, 6})
				d := x.F32()
				for j := range d {
					d[j] = float32(math.Sin(float64(w*1000+i*37+j) * 0.01))
				}
				in := map[string]*tensor.Tensor{"input_2": x}
				want, err := m.Run(context.Background(), "serving_default", in, nil)
				if err != nil {
					errs <- err
					return
				}
				got, err := gm.Run(context.Background(), "serving_default", in, nil)
				if err != nil {
					errs <- err
					return
				}
				wv, gv := want["dense_3"].F32(), got["dense_3"].F32()
				if len(wv) != b || len(gv) != b {
					errs <- fmt.Errorf("worker %d req %d: %d and %d values for batch %d", w, i, len(wv), len(gv), b)
					return
				}
				for j := range wv {
					if math.Abs(float64(wv[j]-gv[j])) > 1e-4+1e-4*math.Abs(float64(wv[j])) {
						errs <- fmt.Errorf("worker %d req %d batch %d: value %d: tfserve %v, gorgonia %v", w, i, b, j, wv[j], gv[j])
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, machines := gm.Lowered()
	t.Logf("%d shape keys, %d machines", keys, machines)
	if keys < len(batches) {
		t.Errorf("%d shape keys lowered, want at least %d", keys, len(batches))
	}
}
