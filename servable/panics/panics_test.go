package panics

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable/status"
)

func TestError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = Error(log, r, "model run", "model", "m")
			}
		}()
		panic("secret detail /models/m")
	}()
	if status.CodeOf(err) != status.Internal {
		t.Fatalf("code %v, want INTERNAL", status.CodeOf(err))
	}
	m := regexp.MustCompile(`^Internal error \(id ([0-9a-f]{16})\)$`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q does not have the form Internal error (id <16 hex>)", err)
	}
	out := buf.String()
	if strings.Count(out, "level=ERROR") != 1 || !strings.Contains(out, "id="+m[1]) ||
		!strings.Contains(out, "secret detail") || !strings.Contains(out, "panics_test.go") || !strings.Contains(out, "model=m") {
		t.Errorf("log does not hold one record with id, value, stack and attrs: %s", out)
	}
	if other := Error(nil, "x", "y"); other.Error() == err.Error() {
		t.Errorf("two panics got the same id: %v", other)
	}
}
