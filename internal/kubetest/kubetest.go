// Package kubetest decodes Kubernetes manifests strictly, for the tests of
// deploy/: a misspelt or misplaced field fails the test instead of being
// dropped silently, as `kubectl apply` without server-side validation
// would drop it.
package kubetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// DecodeStrict converts one YAML document to JSON and decodes it into the
// object pick returns for its "apiVersion kind" (nil for a kind the caller
// does not expect), rejecting unknown fields and trailing data.
func DecodeStrict(doc []byte, pick func(typ string) any) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return err
	}
	obj := pick(tm.APIVersion + " " + tm.Kind)
	if obj == nil {
		return fmt.Errorf("unexpected object %q %q", tm.APIVersion, tm.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// Load decodes with DecodeStrict every "---"-separated document of the
// files matching glob; it fails t when none match or a document fails.
func Load(t testing.TB, glob string, pick func(typ string) any) {
	t.Helper()
	paths, err := filepath.Glob(glob)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---")) {
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			if err := DecodeStrict(doc, pick); err != nil {
				t.Fatalf("%s document %d: %v", p, i, err)
			}
		}
	}
}
