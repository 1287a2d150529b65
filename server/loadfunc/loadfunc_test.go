package loadfunc

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/modelserver"
	"github.com/tfserve/tfserve/tensor"
)

type tagged struct {
	servable.Model
	engine string
}

func TestEnginePerModelAndBatching(t *testing.T) {
	root := t.TempDir()
	if err := demo.WriteAll(root); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "half_plus_two", "00000123")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engines := map[string]Engine{"gorgonia": func(m *loader.Model) (servable.Model, error) { return &tagged{m, "gorgonia"}, nil }}
	o, _ := flags.Parse(nil, io.Discard)
	l, err := New(o, Options{Logger: log, Engines: engines})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m, err := l.Load(context.Background(), dir, modelserver.LoadOptions{Engine: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*tagged); ok {
		t.Fatal("default engine wrapped")
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets.extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, loader.ModelOptionsFile), []byte(`{"engine": "gorgonia"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = l.Load(context.Background(), dir, modelserver.LoadOptions{Engine: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := m.(*tagged); !ok || tg.engine != "gorgonia" {
		t.Fatalf("tfserve.json engine not honoured: %T", m)
	}
	os.WriteFile(filepath.Join(dir, loader.ModelOptionsFile), []byte(`{"engine": "tpu"}`), 0o644)
	if _, err := l.Load(context.Background(), dir, modelserver.LoadOptions{}); err == nil {
		t.Fatal("unknown engine accepted")
	}
	os.Remove(filepath.Join(dir, loader.ModelOptionsFile))

	// Batching wraps the model and still computes the right rows.
	bf := filepath.Join(root, "batching.config")
	os.WriteFile(bf, []byte("max_batch_size { value: 8 } num_batch_threads { value: 1 }"), 0o644)
	o, _ = flags.Parse([]string{"--enable_batching", "--batching_parameters_file=" + bf}, io.Discard)
	lb, err := New(o, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	m, err = lb.Load(context.Background(), dir, modelserver.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{2, 1}, []float32{1, 4})}, nil)
	if err != nil || out["y"].F32()[1] != 4 {
		t.Fatalf("batched run: %v %v", out, err)
	}
	o, _ = flags.Parse([]string{"--enable_batching", "--batching_parameters_file=/no/such/file"}, io.Discard)
	if _, err := New(o, Options{Logger: log}); err == nil {
		t.Fatal("missing batching file accepted")
	}
}
