package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/server/warmup"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

func TestMkwarmup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "half_plus_two", "1")
	if err := demo.HalfPlus(dir, 0.5, 2); err != nil {
		t.Fatal(err)
	}
	body := filepath.Join(t.TempDir(), "req.json")
	os.WriteFile(body, []byte(`{"instances": [[1.0], [2.5]]}`), 0o644)
	if err := run([]string{"--model_dir=" + dir, body, "-"}, strings.NewReader(`{"inputs": {"x": [[7]]}}`)); err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(t.TempDir(), "ex.json")
	os.WriteFile(ex, []byte(`{"signature_name": "classify_x_to_y", "examples": [{"x": 3.0}]}`), 0o644)
	if err := run([]string{"--model_dir=" + dir, "--api=classify", "--append", ex}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(warmup.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logs, err := warmup.ReadLogs(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 3 || logs[0].Kind() != "predict_log" || logs[2].Kind() != "classify_log" {
		t.Fatalf("logs %v", logs)
	}
	if n := logs[0].Predict.GetModelSpec().GetName(); n != "half_plus_two" {
		t.Errorf("model name %q", n)
	}
	x, err := tensorproto.Decode(logs[0].Predict.GetInputs()["x"])
	if err != nil || x.Shape.String() != "[2,1]" || x.F32()[1] != 2.5 {
		t.Fatalf("x = %v %v %v", x, x.F32(), err)
	}
	x, _ = tensorproto.Decode(logs[1].Predict.GetInputs()["x"])
	if x.F32()[0] != 7 {
		t.Fatalf("columnar x = %v", x.F32())
	}
	if got := logs[2].Classify.GetInput().GetExampleList().GetExamples()[0].GetFeatures().GetFeature()["x"].GetFloatList().GetValue(); len(got) != 1 || got[0] != 3 {
		t.Fatalf("example x = %v", got)
	}
	// Errors: unknown signature, bad JSON.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"signature_name": "nope", "instances": [[1.0]]}`), 0o644)
	if err := run([]string{"--model_dir=" + dir, bad}, nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown signature: %v", err)
	}
}
