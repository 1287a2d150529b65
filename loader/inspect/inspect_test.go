package inspect_test

import (
	"bytes"
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
		"StatelessWhile", "TensorListGetItem", "All 30 reachable ops are supported"} {
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
}
