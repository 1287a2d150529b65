package kserve_test

import (
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/server/kserve"
)

// BenchmarkRESTInfer measures the handler alone (no sockets) on the fake
// half_plus_two: the protocol's own cost per request.
func BenchmarkRESTInfer(b *testing.B) {
	h := newHarness(b, harnessOpts{})
	jsonBody := []byte(`{"inputs":[{"name":"x","shape":[4,1],"datatype":"FP32","data":[1,2,3,4]}]}`)
	hdr := `{"parameters":{"binary_data_output":true},"inputs":[{"name":"x","shape":[4,1],"datatype":"FP32","parameters":{"binary_data_size":16}}]}`
	binBody := append([]byte(hdr), f32bytes(1, 2, 3, 4)...)
	for _, c := range []struct {
		name string
		body []byte
		hlen int
	}{{"json", jsonBody, 0}, {"binary", binBody, len(hdr)}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := &fasthttp.RequestCtx{}
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI("/v2/models/m/versions/1/infer")
				ctx.Request.SetBody(c.body)
				if c.hlen > 0 {
					ctx.Request.Header.Set(kserve.HeaderContentLength, strconv.Itoa(c.hlen))
				}
				h.ks.HandleHTTP(ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}
