package restapi

import (
	"regexp"
	"strconv"
	"testing"
)

// The reference: TF Serving's own patterns, run by Go's regexp (RE2
// semantics, like TF Serving's RE2::FullMatch).
var (
	refPost = regexp.MustCompile(`^(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)$`)
	refGet  = regexp.MustCompile(`^(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:\/(metadata))?$`)
)

func referenceRoute(method, path string) route {
	var m []string
	switch method {
	case "POST":
		m = refPost.FindStringSubmatch(path)
	case "GET":
		m = refGet.FindStringSubmatch(path)
	}
	if m == nil {
		return route{}
	}
	r := route{name: m[1]}
	if m[2] != "" {
		v, err := strconv.ParseInt(m[2], 10, 64)
		r.hasVersion, r.version, r.badVersion = true, v, err != nil
	}
	if m[3] != "" {
		r.hasLabel, r.label = true, m[3]
	}
	switch method {
	case "POST":
		switch m[4] {
		case "predict":
			r.kind = routePredict
		case "classify":
			r.kind = routeClassify
		case "regress":
			r.kind = routeRegress
		default:
			r.kind = routeMalformed // matched case-insensitively only
		}
	case "GET":
		r.kind = routeStatus
		if m[4] == "metadata" {
			r.kind = routeMetadata
		}
	}
	return finishRoute(r)
}

var routeSeeds = []string{
	"/v1/models/m:predict", "/V1/MODELS/m:PREDICT", "/v1/models/m/versions/12:classify",
	"/v1/models/m/labels/stable:regress", "/v1/models/m", "/v1/models", "/v1/models/m/metadata",
	"/v1/models/m/versions/3/metadata", "/v1/models/m/labels/a/metadata", "/v1/models/versions/3",
	"/v1/models/labels/x", "/v1/models/metadata", "/v1/models/metadata/metadata", "/v1/models/m:predict?x=1",
	"/v1/models/m/versions/99999999999999999999:predict", "/v1/models/%6d%2F:predict", "/v1/modelſ/m:predict",
	"/v1/models/m/verſions/1", "/v1/models/m/versions/:predict", "/v1/models//metadata", "/v1/models/m/labels/x/y",
	"/v1/models/m/versions/1x", "/v1/models/\xff/metadata", "/v1/models/a\nb:predict",
}

// TestRouteMatchesRegexp checks the hand-written router against the regexp
// reference on the seeds.
func TestRouteMatchesRegexp(t *testing.T) {
	for _, p := range routeSeeds {
		for _, m := range []string{"GET", "POST", "PUT"} {
			got, want := parseRoute(m, p), referenceRoute(m, p)
			if got != want {
				t.Errorf("%s %q: got %+v want %+v", m, p, got, want)
			}
		}
	}
}

// FuzzRoute: the router agrees with TF Serving's regexps on every input.
func FuzzRoute(f *testing.F) {
	for _, p := range routeSeeds {
		f.Add(true, p)
		f.Add(false, p)
	}
	f.Fuzz(func(t *testing.T, post bool, path string) {
		m := "GET"
		if post {
			m = "POST"
		}
		got, want := parseRoute(m, path), referenceRoute(m, path)
		if got != want {
			t.Fatalf("%s %q: got %+v want %+v", m, path, got, want)
		}
		_ = underV1(path)
		_ = uriConforms(path)
	})
}
