// Package redact removes credentials from text before it reaches a log line,
// a status message, an error returned to a client or a metric label: the
// user info of URLs (basic auth, tokens used as user names), every query
// value (signed URLs: X-Amz-Signature, sig=, token=), fragments, the value
// after "Bearer"/"Basic", secret-looking key=value pairs, and the values of
// the environment variables that hold tokens (MLFLOW_TRACKING_TOKEN,
// DATABRICKS_TOKEN, ...) wherever they appear.
//
// String is the one redaction function: it takes a base path, a URI or any
// free text (an error message that quotes a URL) and is idempotent.
package redact

import (
	"os"
	"strings"
)

// Mask replaces every secret.
const Mask = "REDACTED"

// minSecretLen is the shortest environment value replaced verbatim: shorter
// ones ("1", "us") would mask ordinary words.
const minSecretLen = 6

// SecretEnv lists the environment variables whose values are credentials.
func SecretEnv() []string {
	return []string{
		"MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET",
		"DATABRICKS_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AZURE_STORAGE_KEY",
		"GOOGLE_OAUTH_ACCESS_TOKEN", "HF_TOKEN",
	}
}

// String returns s with every credential replaced by Mask. It accepts base
// paths ("https://user:pass@host/m.tar.gz?sig=x", "/models/m?token=x"),
// URIs and free text quoting them.
func String(s string) string {
	s = maskEnv(s)
	if !strings.ContainsAny(s, "@?#=") && !strings.Contains(s, "earer") && !strings.Contains(s, "Basic") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	maskNext := false
	for len(s) > 0 {
		i := strings.IndexFunc(s, isSeparator)
		if i < 0 {
			i = len(s)
		}
		tok := s[:i]
		switch {
		case tok == "":
		case maskNext:
			tok, maskNext = Mask, false
		case strings.EqualFold(tok, "Bearer") || tok == "Basic":
			maskNext = true
		default:
			tok = token(tok)
		}
		b.WriteString(tok)
		if i == len(s) {
			break
		}
		b.WriteByte(s[i]) // separators are all one ASCII byte
		s = s[i+1:]
	}
	return b.String()
}

func isSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>', '(', ')', '[', ']', '{', '}', ',':
		return true
	}
	return false
}

// token redacts one whitespace- or quote-delimited word.
func token(t string) string {
	if i := strings.IndexByte(t, '#'); i >= 0 && strings.Contains(t[:i], "/") {
		t = t[:i] // a URL fragment
	}
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[:i+3] + userinfo(t[i+3:])
	}
	if i := strings.IndexByte(t, '?'); i >= 0 {
		return t[:i+1] + query(t[i+1:])
	}
	if strings.IndexByte(t, '=') > 0 {
		return pairs(t)
	}
	return t
}

// userinfo masks "user:pass@" at the start of a URL's authority.
func userinfo(rest string) string {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 || rest[:at] == Mask {
		return rest
	}
	return Mask + rest[at:]
}

// query masks every value of a query string (and a key without a value).
func query(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		switch {
		case p == "" || p == Mask:
		case !ok:
			parts[i] = Mask
		case v != "":
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// pairs masks the values of secret-looking key=value pairs outside a query
// string ("token=abc", "X-Amz-Signature=...;").
func pairs(t string) string {
	parts := strings.FieldsFunc(t, func(r rune) bool { return r == '&' || r == ';' })
	if len(parts) == 0 {
		return t
	}
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if ok && v != "" && v != Mask && secretKey(k) {
			parts[i], changed = k+"="+Mask, true
		}
	}
	if !changed {
		return t
	}
	return strings.Join(parts, "&")
}

// secretKey reports whether a key names a credential.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"token", "sig", "secret", "password", "passwd", "pwd", "key", "credential", "auth", "x-amz-", "session"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// maskEnv replaces the values of SecretEnv variables.
func maskEnv(s string) string {
	for _, name := range SecretEnv() {
		v := os.Getenv(name)
		if len(v) >= minSecretLen && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// Error returns err's text redacted, or "" for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}
