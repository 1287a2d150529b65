package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/tensor"
)

// rssBytes reads the process's resident set size from /proc.
func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

func settledRSS(t *testing.T) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	time.Sleep(50 * time.Millisecond)
	runtime.GC()
	debug.FreeOSMemory()
	return rssBytes(t)
}

// TestUnloadFreesMemory loads a model holding a 128 MiB variable through
// the model manager, runs it, removes it with a config reload and checks
// that the resident memory returns close to where it started.
func TestUnloadFreesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 128 MiB model")
	}
	base := t.TempDir()
	const n = 32 << 20 // float32s: 128 MiB
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(i % 1000)
	}
	b := modelwriter.New()
	b.Variable("w", tensor.FromSlice(tensor.Shape{n}, w))
	idx := b.Placeholder("idx", tensor.Int32, tensor.Shape{-1})
	axis := b.Const("axis", tensor.Scalar(int32(0)))
	b.Op("y", "GatherV2", []string{"w/read", idx, axis}, map[string]any{"Tparams": tensor.Float32, "Tindices": tensor.Int32, "Taxis": tensor.Int32})
	spec := func(name string, dt tensor.DType) modelwriter.TensorSpec {
		return modelwriter.TensorSpec{Name: name, DType: dt, Shape: tensor.Shape{-1}}
	}
	b.Signature("serving_default", servable.MethodPredict, map[string]modelwriter.TensorSpec{"idx": spec("idx:0", tensor.Int32)},
		map[string]modelwriter.TensorSpec{"y": spec("y:0", tensor.Float32)})
	if err := b.Write(filepath.Join(base, "1")); err != nil {
		t.Fatal(err)
	}
	w = nil
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := manager.New(manager.Options{
		Load: func(ctx context.Context, dir string) (servable.Model, error) {
			return loader.Load(ctx, dir, loader.Options{Logger: log})
		},
		OpenSource: func(ctx context.Context, p string) (manager.Source, error) {
			return source.Open(ctx, p, source.Options{Logger: log})
		},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Close()
	before := settledRSS(t)
	cfg, err := manager.ParseConfig([]byte(`model_config_list { config { name: "big" base_path: "` + base + `" model_platform: "tensorflow" } }`))
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.ReloadConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h, err := mgr.Get(manager.Spec{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"idx": tensor.FromSlice(tensor.Shape{2}, []int32{5, 1234567})}, nil)
	h.Release()
	if err != nil || out["y"].F32()[0] != 5 || out["y"].F32()[1] != 567 {
		t.Fatalf("run: %v %v", out, err)
	}
	out = nil
	loaded := settledRSS(t)
	empty, _ := manager.ParseConfig([]byte(`model_config_list { }`))
	if err := mgr.ReloadConfig(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h, err := mgr.Get(manager.Spec{Name: "big"})
		if err != nil {
			break
		}
		h.Release()
		time.Sleep(20 * time.Millisecond)
	}
	var after int64
	for i := 0; i < 20; i++ { // the unload finishes asynchronously
		after = settledRSS(t)
		if after-before < 32<<20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("RSS before load %d MiB, loaded %d MiB, after unload %d MiB", before>>20, loaded>>20, after>>20)
	if loaded-before < 100<<20 {
		t.Fatalf("loading a 128 MiB model grew RSS by only %d MiB: the measurement is not seeing it", (loaded-before)>>20)
	}
	if after-before > 32<<20 {
		t.Errorf("unloading left RSS %d MiB above the start", (after-before)>>20)
	}
}
