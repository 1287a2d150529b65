package inspect_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader/inspect"
)

func supported(op string) bool {
	_, ok := kernels.Lookup(op)
	return ok || inspect.TranslatedOp(op)
}

func TestInspectFixtures(t *testing.T) {
	fx := fixtures.Dir(t)
	rep, err := inspect.Inspect(filepath.Join(fx, "keras/gru/christopher_stock/1"), supported)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Write(&out)
	for _, want := range []string{"signature_def['serving_default']", "inputs['input_2'] tensor_info", "dtype: DT_FLOAT", "shape: (-1, 14, 6)",
		"StatelessWhile", "TensorListGetItem", "All 30 reachable ops are supported", "Loads: yes"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("christopher_stock report lacks %q:\n%s", want, out.String())
		}
	}
	rep, err = inspect.Inspect(filepath.Join(fx, "tfserving/servables/tensorflow/testdata/tf_text_regression_2020-07/01"), supported)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	rep.Write(&out)
	if !strings.Contains(out.String(), "SentencepieceOp (UNSUPPORTED)") || !strings.Contains(out.String(), "Unsupported ops (22 of") {
		t.Errorf("tf_text report does not list its unsupported ops:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Loads: no — ") || !strings.Contains(out.String(), "unsupported ops") {
		t.Errorf("tf_text report does not say the loader refuses it:\n%s", out.String())
	}
}

// TestInspectRunsTheLoader: models whose ops all have kernels but that the
// loader refuses (a Const without a value, a negative dimension) are
// reported as not loading, with the loader's own error, never as fully
// supported; a good model still is.
func TestInspectRunsTheLoader(t *testing.T) {
	cases := map[string]string{
		"tensorflow/testdata/fuzz_generated/bad_node_attr":       "Const has no value",
		"tensorflow/testdata/fuzz_generated/const_with_no_value": "Const has no value",
		"tensorflow/testdata/fuzz_generated/negative_shape":      "negative dimension",
	}
	for rel, want := range cases {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			rep, err := inspect.Inspect(fixtures.Path(t, rel), supported)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.MetaGraphs) != 1 {
				t.Fatalf("%d MetaGraphs; want 1", len(rep.MetaGraphs))
			}
			mg := rep.MetaGraphs[0]
			if mg.Loads() || !strings.Contains(fmt.Sprint(mg.LoadError), want) {
				t.Errorf("LoadError = %v; want the loader's %q", mg.LoadError, want)
			}
			if err := rep.Loads(nil); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Loads(serve) = %v; want the loader's %q", err, want)
			}
			var out bytes.Buffer
			rep.Write(&out)
			if !strings.Contains(out.String(), "Loads: no — ") || !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q with the loader's %q:\n%s", "Loads: no", want, out.String())
			}
			if strings.Contains(out.String(), "are supported by tfserve") || strings.Contains(out.String(), "Loads: yes") {
				t.Errorf("malformed model reported as supported:\n%s", out.String())
			}
		})
	}

	t.Run("half_plus_two", func(t *testing.T) {
		rep, err := inspect.Inspect(fixtures.Path(t, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123"), supported)
		if err != nil {
			t.Fatal(err)
		}
		for _, mg := range rep.MetaGraphs {
			if !mg.Loads() {
				t.Errorf("MetaGraph %v: LoadError = %v", mg.Tags, mg.LoadError)
			}
		}
		if err := rep.Loads(nil); err != nil {
			t.Errorf("Loads(serve) = %v", err)
		}
		if err := rep.Loads([]string{"no-such-tag"}); err == nil || !strings.Contains(err.Error(), "could not find meta graph def") {
			t.Errorf("Loads(no-such-tag) = %v; want the loader's selection error", err)
		}
		var out bytes.Buffer
		rep.Write(&out)
		for _, want := range []string{"signature_def['serving_default']", "All 9 reachable ops are supported by tfserve.", "Loads: yes"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "Loads: no") {
			t.Errorf("good model reported as not loading:\n%s", out.String())
		}
	})
}
