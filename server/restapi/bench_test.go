package restapi

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

// BenchmarkPredictHandler runs the REST handler in-process (no network) on
// a half_plus_two row-format request, to watch allocations on the predict
// path. The model is the fake y = 0.5x + 2.
func BenchmarkPredictHandler(b *testing.B) {
	base := b.TempDir()
	fakemodel.WriteVersion(b, base, 1, "0.5")
	h := newHarnessB(b, base)
	body := []byte(`{"instances": [[1.0], [2.0], [5.0], [7.0]]}`)
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/models/m:predict")
		ctx.Request.SetBody(body)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkRoute measures path parsing alone.
func BenchmarkRoute(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := parseRoute("POST", "/v1/models/half_plus_two/versions/123:predict")
		if r.kind != routePredict {
			b.Fatal(r)
		}
	}
}
