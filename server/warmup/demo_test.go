package warmup

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/modelwriter/demo"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
	"github.com/tfserve/tfserve/tensor/tensorproto"
)

// TestReplayRealModel replays warmup records against a real SavedModel
// (demo half_plus_two, y = 0.5x + 2, written by modelwriter and loaded by
// the loader), then checks that a bad record fails the load.
func TestReplayRealModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "half_plus_two", "1")
	if err := demo.HalfPlus(dir, 0.5, 2); err != nil {
		t.Fatal(err)
	}
	var last *counting
	load := func(ctx context.Context, d string) (servable.Model, error) {
		m, err := loader.Load(ctx, d, loader.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, err
		}
		last = &counting{Model: m}
		return last, nil
	}
	exs := &servingpb.Input{Kind: &servingpb.Input_ExampleList{ExampleList: &servingpb.ExampleList{
		Examples: []*tfpb.Example{example(4), example(6)}}}}
	mustWrite(t, dir,
		predictLog(t, "", 1, 2),
		Log{Classify: &servingpb.ClassificationRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "classify_x_to_y"}, Input: exs}},
		Log{Regress: &servingpb.RegressionRequest{ModelSpec: &servingpb.ModelSpec{SignatureName: "regress_x_to_y"}, Input: exs}},
	)
	m, err := WrapLoad(load, Options{})(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if strings.Join(last.runs, " ") != "serving_default classify_x_to_y regress_x_to_y" {
		t.Fatalf("runs %v", last.runs)
	}
	want := []float32{2.5, 3, 4, 5, 4, 5}
	if len(last.ys) != len(want) {
		t.Fatalf("outputs %v, want %v", last.ys, want)
	}
	for i := range want {
		if last.ys[i] != want[i] {
			t.Fatalf("outputs %v, want %v", last.ys, want)
		}
	}

	mustWrite(t, dir, predictLog(t, "", 1), predictLog(t, "regress_x_to_y_typo", 1))
	if _, err := WrapLoad(load, Options{})(context.Background(), dir); err == nil ||
		status.CodeOf(err) != status.FailedPrecondition || !strings.Contains(err.Error(), "regress_x_to_y_typo") {
		t.Fatalf("bad signature: %v", err)
	}
	if last.closed != 1 {
		t.Fatalf("model closed %d times", last.closed)
	}

	// A wrong dtype reaches the model's run, which answers as TF's session
	// does (FunctionCallFrame::SetArgs, via graph.SignaturePlan.Args).
	p, err := tensorproto.Encode(tensor.FromSlice(tensor.Shape{1, 1}, []string{"a"}))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, dir, Log{Predict: &servingpb.PredictRequest{Inputs: map[string]*tfpb.TensorProto{"x": p}}})
	if _, err := WrapLoad(load, Options{})(context.Background(), dir); err == nil ||
		status.CodeOf(err) != status.InvalidArgument || !strings.HasSuffix(err.Error(), " failed: Expects arg[0] to be float but string is provided") {
		t.Fatalf("wrong dtype: %v", err)
	}
}
