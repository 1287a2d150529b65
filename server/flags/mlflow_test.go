package flags

import (
	"slices"
	"testing"
)

func TestMLflowDefaultModelFlag(t *testing.T) {
	o, err := Parse([]string{"--mlflow_default_model=hp"}, nil)
	if err != nil || o.MLflowDefaultModel != "hp" {
		t.Fatalf("%q %v", o.MLflowDefaultModel, err)
	}
	if slices.Contains(o.NoEffect(), "mlflow_default_model") {
		t.Error("--mlflow_default_model reported as having no effect")
	}
	if Defaults().MLflowDefaultModel != "" {
		t.Error("default is not empty")
	}
}
