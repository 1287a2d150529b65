package restapi

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// routeKind says what a /v1/ request asks for.
type routeKind uint8

const (
	routeMalformed routeKind = iota // 400 "Malformed request: <METHOD> <path>"
	routePredict
	routeClassify
	routeRegress
	routeStatus
	routeMetadata
)

// route is a parsed /v1/ request path, following TF Serving's
// http_rest_api_util.cc ParseModelInfo.
type route struct {
	kind       routeKind
	name       string // URL-decoded
	label      string // URL-decoded
	version    int64
	hasVersion bool
	hasLabel   bool
	// badVersion: the version digits do not fit an int64. TF Serving then
	// answers 400 with an empty body.
	badVersion bool
	// served is the version that served the request, once known.
	served int64
}

// parseRoute matches method and the raw request path (with its query
// string, as TF Serving's uri_path has it) against TF Serving's two
// case-insensitive patterns:
//
//	POST (?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)
//	GET  (?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:\/(metadata))?
//
// Like TF Serving, the captured method and subresource are then compared
// case-sensitively: ":Predict" matches the pattern but is a malformed
// request, and "/METADATA" is a status request. The caller must check
// whether the path is under /v1/ at all.
func parseRoute(method, path string) route {
	var r route
	switch method {
	case "POST":
		r = parsePost(path)
	case "GET":
		r = parseGet(path)
	}
	return r
}

func parsePost(p string) route {
	rest, ok := foldPrefix(p, "/v1/models/")
	if !ok {
		return route{}
	}
	name, rest := segment(rest)
	if name == "" {
		return route{}
	}
	r := route{name: name}
	if len(rest) > 0 && rest[0] == '/' {
		var ok bool
		if rest, ok = versionOrLabel(&r, rest); !ok {
			return route{}
		}
	}
	if len(rest) == 0 || rest[0] != ':' {
		return route{}
	}
	m := rest[1:]
	switch {
	case foldEqual(m, "predict"):
		r.kind = routePredict
		if m != "predict" {
			r.kind = routeMalformed
		}
	case foldEqual(m, "classify"):
		r.kind = routeClassify
		if m != "classify" {
			r.kind = routeMalformed
		}
	case foldEqual(m, "regress"):
		r.kind = routeRegress
		if m != "regress" {
			r.kind = routeMalformed
		}
	default:
		return route{}
	}
	return finishRoute(r)
}

func parseGet(p string) route {
	rest, ok := foldPrefix(p, "/v1/models")
	if !ok {
		return route{}
	}
	// First alternative: with a name (the regex's optional group is greedy).
	if len(rest) > 0 && rest[0] == '/' {
		name, tail := segment(rest[1:])
		if name != "" {
			r := route{name: name}
			if matchGetTail(&r, tail) {
				return finishRoute(r)
			}
		}
	}
	var r route
	if matchGetTail(&r, rest) {
		return finishRoute(r)
	}
	return route{}
}

// matchGetTail matches (?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?$.
func matchGetTail(r *route, t string) bool {
	if len(t) > 0 && t[0] == '/' {
		saved := *r
		if rest, ok := versionOrLabel(r, t); ok && matchSubresource(r, rest) {
			return true
		}
		*r = saved
	}
	return matchSubresource(r, t)
}

func matchSubresource(r *route, t string) bool {
	if t == "" {
		r.kind = routeStatus
		return true
	}
	if len(t) > 0 && t[0] == '/' && foldEqual(t[1:], "metadata") {
		r.kind = routeStatus
		if t[1:] == "metadata" {
			r.kind = routeMetadata
		}
		return true
	}
	return false
}

// versionOrLabel matches /versions/(\d+) or /labels/([^/:]+) at the start of
// t (which begins with '/'), returning the rest.
func versionOrLabel(r *route, t string) (string, bool) {
	if rest, ok := foldPrefix(t, "/versions/"); ok {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n > 0 {
			v, err := strconv.ParseInt(rest[:n], 10, 64)
			r.hasVersion = true
			r.version = v
			r.badVersion = err != nil
			return rest[n:], true
		}
	}
	if rest, ok := foldPrefix(t, "/labels/"); ok {
		label, rest := segment(rest)
		if label != "" {
			r.hasLabel = true
			r.label = label
			return rest, true
		}
	}
	return t, false
}

// finishRoute URL-decodes the name and label as TF Serving does with
// curl_easy_unescape.
func finishRoute(r route) route {
	r.name = percentDecode(r.name)
	if r.hasLabel {
		r.label = percentDecode(r.label)
	}
	return r
}

// segment splits s at the first '/' or ':' ([^/:]+ is greedy and must be
// followed by one of them or the end).
func segment(s string) (seg, rest string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' || s[i] == ':' {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

// foldPrefix reports whether s starts with lit under the regexp package's
// (?i) case folding (Unicode simple folding, so "ſ" matches "s" and the
// Kelvin sign matches "k"), returning the rest of s. lit is ASCII.
func foldPrefix(s, lit string) (string, bool) {
	i := 0
	for j := 0; j < len(lit); j++ {
		if i >= len(s) {
			return s, false
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if lower(c) != lower(lit[j]) {
				return s, false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !foldsTo(r, rune(lit[j])) {
			return s, false
		}
		i += size
	}
	return s[i:], true
}

func foldEqual(s, lit string) bool {
	rest, ok := foldPrefix(s, lit)
	return ok && rest == ""
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldsTo reports whether r is in the simple case-folding orbit of c.
func foldsTo(r, c rune) bool {
	for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return r == c
}

// percentDecode decodes %XX escapes as curl_easy_unescape does: a '%' not
// followed by two hex digits is kept literally, and '+' is not a space.
func percentDecode(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// underV1 reports whether path matches TF Serving's dispatcher pattern
// (?i)/v1/.* (RE2 '.' does not match '\n').
func underV1(path string) bool {
	rest, ok := foldPrefix(path, "/v1/")
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\n' {
			return false
		}
	}
	return true
}

// uriConforms reports whether libevent's strict URI parser (evhttp_uri_parse,
// which TF Serving's net_http ParsedEvRequest::decode calls on every request
// before any handler) accepts an origin-form request target: the path may
// hold only unreserved characters, sub-delims, ':', '@', '/' and %XX escapes
// of two hex digits; the query (after the first '?') and the fragment
// (after the first '#') may also hold '?'. Anything else, a raw space, '"',
// '<', '{', '|', '\\', '^', '`', a control or non-ASCII byte or a bad escape,
// fails the parse, and net_http answers with libevent's 400 page
// (badRequestPage) instead of routing the request.
func uriConforms(u string) bool {
	part := 0 // 0: path, 1: query, 2: fragment
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case uriPathChar(c):
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			i += 2
		case c == '?':
			if part == 0 {
				part = 1
			}
		case c == '#' && part < 2:
			part = 2
		default:
			return false
		}
	}
	return true
}

// uriPathChar: RFC 3986 unreserved, sub-delims, ':', '@' and '/'.
func uriPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// badRequestPage is what libevent's evhttp_send_error(req, 400, NULL)
// writes (with Content-Type: text/html and Connection: close).
const badRequestPage = "<HTML><HEAD>\n<TITLE>400 Bad Request</TITLE>\n</HEAD><BODY>\n<H1>Bad Request</H1>\n</BODY></HTML>\n"
