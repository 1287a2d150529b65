package metrics

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfserve/tfserve/servable/status"
)

// Requests naming 20,000 distinct models that are not configured leave the
// metrics page with exactly the series one unknown name makes.
func TestUnknownModelsShareOneSeries(t *testing.T) {
	known := map[string]bool{"half": true}
	m := New(Options{KnownModel: func(n string) bool { return known[n] }})
	page := func() string {
		var b bytes.Buffer
		if err := m.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	m.ObserveRequest("half", "Predict", EntrypointREST, status.OK, time.Millisecond)
	m.ObserveRequest("nope-0", "Predict", EntrypointREST, status.NotFound, time.Millisecond)
	m.ObserveRequest("nope-0", "Predict", EntrypointGRPC, status.OK, time.Millisecond)
	before := page()
	for i := 1; i < 20000; i++ {
		name := "nope-" + strconv.Itoa(i)
		m.ObserveRequest(name, "Predict", EntrypointREST, status.NotFound, time.Millisecond)
	}
	after := page()
	if lb, la := strings.Count(before, "\n"), strings.Count(after, "\n"); lb != la {
		t.Fatalf("metrics page grew from %d to %d lines", lb, la)
	}
	if strings.Contains(after, "nope-") {
		t.Fatal("an unknown model name is a label")
	}
	// The counts are all there, under one label.
	want := `:tensorflow:serving:request_count{model_name="_other",status="NOT_FOUND"} 20000`
	if !strings.Contains(after, want) {
		t.Fatalf("page lacks %s:\n%s", want, after)
	}
	if !strings.Contains(after, `:tensorflow:serving:request_count{model_name="half",status="OK"} 1`) {
		t.Fatalf("configured model not labelled by name:\n%s", after)
	}
}

func TestModelPathLabelRedacted(t *testing.T) {
	m := New(Options{})
	m.ObserveLoad("/models/m?token=s3cr3t/1", time.Millisecond, nil)
	m.ObserveWarmup("/models/m?token=s3cr3t/1", 1, time.Millisecond, nil)
	var b bytes.Buffer
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "s3cr3t") || strings.Count(b.String(), `model_path="/models/m?token=REDACTED"`) < 3 {
		t.Fatalf("model_path not redacted:\n%s", b.String())
	}
}
