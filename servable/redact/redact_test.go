package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := map[string]string{
		"https://user:pass@host/m.tar.gz?sig=abc&se=2030#frag":    "https://REDACTED@host/m.tar.gz?sig=REDACTED&se=REDACTED",
		"https://tok3n@host/m.tar.gz":                             "https://REDACTED@host/m.tar.gz",
		"s3://bucket/models/m":                                    "s3://bucket/models/m",
		"s3://b/p?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA": "s3://b/p?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED",
		"/local/path":                                    "/local/path",
		"/models/m?token=abc":                            "/models/m?token=REDACTED",
		"file:///models/m?secret":                        "file:///models/m?REDACTED",
		"models:/reco/Production":                        "models:/reco/Production",
		"weird://us:er@ho st/p?q":                        "weird://REDACTED@ho st/p?REDACTED",
		`Get "https://u:p@h/x?sig=1": dial tcp: refused`: `Get "https://REDACTED@h/x?sig=REDACTED": dial tcp: refused`,
		"Authorization: Bearer abc.def done":             "Authorization: Bearer REDACTED done",
		"form token=abc;other=1 x=2":                     "form token=REDACTED&other=1 x=2",
		"a=b c@d e#f":                                    "a=b c@d e#f",
		"user@example.com wrote":                         "user@example.com wrote",
		"Could not find base path /m for servable m":     "Could not find base path /m for servable m",
	}
	for in, want := range cases {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
		if again := String(String(in)); again != String(in) {
			t.Errorf("String not idempotent on %q: %q then %q", in, String(in), again)
		}
	}
}

func TestStringMasksSecretEnv(t *testing.T) {
	t.Setenv("MLFLOW_TRACKING_TOKEN", "mlflow-secret-123")
	t.Setenv("DATABRICKS_TOKEN", "dapi0123456789")
	t.Setenv("AWS_SESSION_TOKEN", "ab") // too short to mask words
	in := "server said: invalid token mlflow-secret-123 (dapi0123456789) ab"
	want := "server said: invalid token REDACTED (REDACTED) ab"
	if got := String(in); got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func TestError(t *testing.T) {
	if Error(nil) != "" {
		t.Error("Error(nil) is not empty")
	}
	err := fmt.Errorf("fetch: %w", errors.New(`Get "http://a:b@h/?k=v"`))
	if got, want := Error(err), `fetch: Get "http://REDACTED@h/?k=REDACTED"`; got != want {
		t.Errorf("Error = %q, want %q", got, want)
	}
}

type pathList []string

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := Logger(slog.New(slog.NewTextHandler(&buf, nil)))
	if Logger(log) != log {
		t.Error("Logger wrapped a redacting logger twice")
	}
	log = log.With("base", "https://u:pw1@h/m?sig=s1")
	log.WithGroup("g").Error("open https://u:pw2@h/m?sig=s2 failed",
		"error", errors.New("dial https://u:pw3@h"),
		"stringer", stringer("x?sig=s4"),
		"group", slog.GroupValue(slog.String("p", "/m?token=s5")),
		"any", pathList{"/m?token=s6"},
		"n", 7)
	out := buf.String()
	for _, secret := range []string{"pw1", "s1", "pw2", "s2", "pw3", "s4", "s5", "s6"} {
		if strings.Contains(out, "="+secret) || strings.Contains(out, ":"+secret+"@") {
			t.Errorf("secret %q in log output %s", secret, out)
		}
	}
	if strings.Count(out, Mask) != 8 || !strings.Contains(out, "g.n=7") {
		t.Errorf("want 8 masks and the plain attribute kept, got %s", out)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
