package scann_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/graph/scann"
	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/tensor"
)

func fixture(t *testing.T) string {
	return filepath.Join(fixtures.Dir(t), "tfrs/universaldot_labse_index/1")
}

func TestQueryWidthError(t *testing.T) {
	m, err := loader.Load(context.Background(), fixture(t), loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	q := tensor.New(tensor.Float32, tensor.Shape{2, 512})
	_, err = m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"input_1": q}, nil)
	if err == nil || !strings.Contains(err.Error(), "512") || !strings.Contains(err.Error(), "768") {
		t.Fatalf("want an error naming widths 512 and 768, got %v", err)
	}
}

// TestExhaustiveRecall: on the golden's random-query case (where a
// 10-leaf search reaches only ~0.6 recall) exhaustive search over the
// reconstructed vectors recovers the exact top-10 (ties aside).
func TestExhaustiveRecall(t *testing.T) {
	g, err := golden.Read(filepath.Join(filepath.Dir(fixture(t)), "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := g.Cases[len(g.Cases)-1]
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	recall := func(opts scann.Options) error {
		m, err := loader.Load(context.Background(), fixture(t), loader.Options{Logger: quiet, ScaNN: opts})
		if err != nil {
			t.Fatal(err)
		}
		req, err := jsontensor.ParsePredictRequest(c.Request, func(string) (*servable.Signature, error) {
			return m.Signatures()["serving_default"], nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Run(context.Background(), "serving_default", req.Inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := jsontensor.AppendPredictResponse(nil, req.Format, out, []string{"output_1", "output_2"})
		if err != nil {
			t.Fatal(err)
		}
		c.MinRecall = 0.97
		return c.Check(body)
	}
	if err := recall(scann.Options{Exhaustive: true}); err != nil {
		t.Errorf("exhaustive: %v", err)
	}
	if err := recall(scann.Options{}); err == nil {
		t.Errorf("the default 10-leaf search reached recall 0.97 on random queries; the case no longer tells exhaustive search apart")
	}
}
