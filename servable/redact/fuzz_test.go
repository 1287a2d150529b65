package redact

import (
	"runtime"
	"strings"
	"testing"
)

// FuzzString: redaction is idempotent, never leaves a planted password or
// query value, and its output and allocation are linear in the input.
func FuzzString(f *testing.F) {
	for _, s := range []string{"https://u:p@h/x?sig=1#f", "s3://b/p?X-Amz-Signature=x", "/m?token=a&&b",
		`Get "http://a:b@h/?k=v": x`, "Bearer abc", "token=a;b=c", "x://@@/??##", ""} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, s, secret string) {
		once := String(s)
		if twice := String(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if len(once) > 9*len(s)+len(Mask) {
			t.Fatalf("output of %d bytes for %d input bytes", len(once), len(s))
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		String(s)
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(64*len(s)+4096) {
			t.Fatalf("%d bytes allocated for %d input bytes", grew, len(s))
		}
		// A credential planted in a URL never survives.
		if secret == "" || strings.ContainsAny(secret, " \t\n\r\"'`<>()[]{},@/?#&=;:%") || strings.Contains(Mask, secret) {
			return
		}
		u := "https://user:" + secret + "@host/p?sig=" + secret
		skeleton := "https://" + Mask + "@host/p?sig=" + Mask
		allowed := strings.Count(String(s+" "), secret) + strings.Count(skeleton, secret)
		if out := String(s + " " + u); strings.Count(out, secret) > allowed {
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}
