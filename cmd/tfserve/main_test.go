package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/internal/fixtures"
)

// TestInspectExitStatus: `tfserve inspect` exits 1 with the loader's error
// for a model the loader refuses, even when all its ops have kernels, and 0
// for a model it loads.
func TestInspectExitStatus(t *testing.T) {
	bad := map[string]string{
		"tensorflow/testdata/fuzz_generated/bad_node_attr":       "Const has no value",
		"tensorflow/testdata/fuzz_generated/const_with_no_value": "Const has no value",
		"tensorflow/testdata/fuzz_generated/negative_shape":      "negative dimension",
	}
	for rel, want := range bad {
		t.Run(rel, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if rc := inspectTo([]string{fixtures.Path(t, rel)}, &stdout, &stderr); rc != 1 {
				t.Errorf("exit status %d; want 1", rc)
			}
			if !strings.Contains(stdout.String(), "Loads: no — ") || strings.Contains(stdout.String(), "are supported by tfserve") {
				t.Errorf("stdout does not report the model as not loading:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), "does not load") || !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks the loader's %q:\n%s", want, stderr.String())
			}
		})
	}

	good := fixtures.Path(t, "tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu/00000123")
	var stdout, stderr bytes.Buffer
	if rc := inspectTo([]string{good}, &stdout, &stderr); rc != 0 {
		t.Errorf("half_plus_two: exit status %d; want 0; stderr:\n%s", rc, stderr.String())
	}
	for _, want := range []string{"All 9 reachable ops are supported by tfserve.", "Loads: yes"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("half_plus_two report lacks %q:\n%s", want, stdout.String())
		}
	}

	// The exit status follows the MetaGraph --saved_model_tags selects.
	stdout.Reset()
	stderr.Reset()
	if rc := inspectTo([]string{"--saved_model_tags=no-such-tag", good}, &stdout, &stderr); rc != 1 || !strings.Contains(stderr.String(), "could not find meta graph def") {
		t.Errorf("--saved_model_tags=no-such-tag: exit status %d, stderr %q; want 1 and the selection error", rc, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if rc := inspectTo([]string{"--saved_model_tags=serve", good}, &stdout, &stderr); rc != 0 {
		t.Errorf("--saved_model_tags=serve: exit status %d; want 0; stderr:\n%s", rc, stderr.String())
	}
}

func TestInspectUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"--no-such-flag", "a"}} {
		var stdout, stderr bytes.Buffer
		if rc := inspectTo(args, &stdout, &stderr); rc != 2 || !strings.Contains(stderr.String(), "usage: tfserve inspect") {
			t.Errorf("inspect %q: exit status %d, stderr %q; want 2 and the usage", args, rc, stderr.String())
		}
	}
}
