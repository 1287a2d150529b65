// Package keras3 benchmarks Keras 3 .keras models (issue 13): load time of
// the .keras file, and predict latency of the model loaded from it against
// the same graph loaded from a SavedModel written from the translation,
// which should match (the format costs nothing once loaded).
package keras3

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/internal/golden"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/keras3"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable"
)

var models = []string{"bisulelang_xauusd_gru", "deepak_gru_forecasting"}

func versionDir(b *testing.B, name string) string {
	return fixtures.Path(b, "keras/gru_keras3", name, "1")
}

// BenchmarkLoad loads each .keras file as the server does.
func BenchmarkLoad(b *testing.B) {
	for _, name := range models {
		dir := versionDir(b, name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				m, err := loader.Load(context.Background(), dir, loader.Options{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				m.Close()
			}
		})
	}
}

// savedModelOf writes the .keras file's translation as a SavedModel.
func savedModelOf(b *testing.B, dir string) string {
	path, _, err := keras3.Find(dir)
	if err != nil {
		b.Fatal(err)
	}
	mg, err := keras3.ReadFile(path, keras3.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	data, err := proto.Marshal(&tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}})
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	if err := os.WriteFile(filepath.Join(out, "saved_model.pb"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkPredict runs the first golden request (one row) on the model
// loaded from the .keras file and from the SavedModel.
func BenchmarkPredict(b *testing.B) {
	for _, name := range models {
		dir := versionDir(b, name)
		g, err := golden.Read(filepath.Join(filepath.Dir(dir), "golden.keras3.json"))
		if err != nil {
			b.Fatal(err)
		}
		body := g.Cases[0].Request
		for _, from := range []string{"keras", "savedmodel"} {
			src := dir
			if from == "savedmodel" {
				src = savedModelOf(b, dir)
			}
			m, err := loader.Load(context.Background(), src, loader.Options{Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name+"/"+from, func(b *testing.B) {
				run(b, m, body)
			})
			m.Close()
		}
	}
}

func run(b *testing.B, m servable.Model, body []byte) {
	for b.Loop() {
		if _, err := golden.Predict(m, body); err != nil {
			b.Fatal(err)
		}
	}
}
