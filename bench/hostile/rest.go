package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// post sends body to the REST path and returns the status, up to 64 KiB of
// the response and the response's full length.
func post(ctx context.Context, t *Target, path string, body io.Reader, headers map[string]string) (int, []byte, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Proc.REST()+path, body)
	if err != nil {
		return 0, nil, 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rest, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, head, int64(len(head)) + rest, err
}

func predictPath(model string) string { return "/v1/models/" + model + ":predict" }

// postExpect posts body to model's predict and expects a 4xx naming a flag.
func postExpect(ctx context.Context, t *Target, body []byte, headers map[string]string, flags ...string) error {
	st, resp, _, err := post(ctx, t, predictPath(t.Model), bytes.NewReader(body), headers)
	if err != nil {
		return err
	}
	t.logf("%d-byte body: %d %s", len(body), st, trunc(resp, 200))
	return expect4xx(st, resp, flags...)
}

// nested returns prefix, open×n, inner, close×n, suffix.
func nested(prefix, open, inner, close, suffix string, n int) []byte {
	var b bytes.Buffer
	b.Grow(len(prefix) + n*(len(open)+len(close)) + len(inner) + len(suffix))
	b.WriteString(prefix)
	for i := 0; i < n; i++ {
		b.WriteString(open)
	}
	b.WriteString(inner)
	for i := 0; i < n; i++ {
		b.WriteString(close)
	}
	b.WriteString(suffix)
	return b.Bytes()
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// zerosGzip is 1 GiB of zeros, gzip-compressed (about 1 MiB), made once.
var zerosGzip = sync.OnceValue(func() []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 1<<10; i++ {
		zw.Write(zero)
	}
	zw.Close()
	return out.Bytes()
})

var gzipHeader = map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/json"}

func restCases() []Case {
	return []Case{
		{Name: "rest/deep_nesting_gzip", Run: func(ctx context.Context, t *Target) error {
			// 10M levels: 20 MB of JSON in a ~23 KB gzip body.
			body := gzipBytes(nested(`{"instances": `, "[", "1", "]", "}", 10_000_000))
			if len(body) > 64<<10 {
				return fmt.Errorf("test bug: gzip body is %d bytes", len(body))
			}
			return postExpect(ctx, t, body, gzipHeader, "request_max_json_depth")
		}},
		{Name: "rest/bracket_flood_64MiB", Run: func(ctx context.Context, t *Target) error {
			return postExpect(ctx, t, bytes.Repeat([]byte("["), 64<<20), nil, "request_max_json_depth", "rest_api_max_body_bytes")
		}},
		{Name: "rest/deep_objects", Run: func(ctx context.Context, t *Target) error {
			return postExpect(ctx, t, nested(`{"instances": [`, `{"x": `, "1", "}", "]}", 1_000_000), nil, "request_max_json_depth")
		}},
		{Name: "rest/deep_objects_in_signature_name", Run: func(ctx context.Context, t *Target) error {
			return postExpect(ctx, t, nested(`{"signature_name": `, `{"a": [`, "1", "]}", `, "instances": [1]}`, 500_000), nil, "request_max_json_depth")
		}},
		{Name: "rest/rank_255_instances", Run: func(ctx context.Context, t *Target) error {
			return postExpect(ctx, t, nested(`{"instances": `, "[", "1.0", "]", "}", 255), nil, "request_max_rank")
		}},
		{Name: "rest/rank_255_inputs", Run: func(ctx context.Context, t *Target) error {
			st, resp, _, err := post(ctx, t, predictPath(t.AnyShapeModel), bytes.NewReader(nested(`{"inputs": {"x": `, "[", "1.0", "]", "}}", 255)), nil)
			if err != nil {
				return err
			}
			return expect4xx(st, resp, "request_max_rank")
		}},
		{Name: "rest/columnar_huge_output", Run: columnarHugeOutput},
		{Name: "rest/huge_string_tensor", Run: func(ctx context.Context, t *Target) error {
			// 4M empty strings (12 MB of JSON) and one 48 MiB string.
			many := nested(`{"instances": [`, `"",`, `""`, "", "]}", 4_000_000)
			if err := postExpect(ctx, t, many, nil); err != nil {
				return fmt.Errorf("4M strings: %w", err)
			}
			big := []byte(`{"instances": ["` + strings.Repeat("a", 48<<20) + `"]}`)
			if err := postExpect(ctx, t, big, nil); err != nil {
				return fmt.Errorf("one 48 MiB string: %w", err)
			}
			return nil
		}},
		{Name: "rest/b64_bomb", Run: func(ctx context.Context, t *Target) error {
			big := []byte(`{"instances": [{"b64": "` + strings.Repeat("QUFB", 12<<20) + `"}]}`)
			if err := postExpect(ctx, t, big, nil); err != nil {
				return fmt.Errorf("one 48 MiB b64 value: %w", err)
			}
			many := nested(`{"instances": [`, `{"b64": "QQ=="},`, `{"b64": ""}`, "", "]}", 2_000_000)
			if err := postExpect(ctx, t, many, nil); err != nil {
				return fmt.Errorf("2M b64 objects: %w", err)
			}
			return nil
		}},
		{Name: "rest/gzip_bomb_1GiB", Run: func(ctx context.Context, t *Target) error {
			return postExpect(ctx, t, zerosGzip(), gzipHeader, "rest_api_max_body_bytes")
		}},
		{Name: "rest/gzip_in_gzip", Run: func(ctx context.Context, t *Target) error {
			inner := zerosGzip()
			if err := postExpect(ctx, t, gzipBytes(inner), gzipHeader); err != nil {
				return fmt.Errorf("Content-Encoding gzip: %w", err)
			}
			twice := map[string]string{"Content-Encoding": "gzip, gzip"}
			if err := postExpect(ctx, t, gzipBytes(inner), twice); err != nil {
				return fmt.Errorf("Content-Encoding gzip, gzip: %w", err)
			}
			return nil
		}},
		{Name: "rest/invalid_utf8", Run: func(ctx context.Context, t *Target) error {
			for _, body := range []string{
				"{\"instances\": [\"\xff\xfe\"]}",
				"{\"inst\xffances\": [1.0]}",
				"{\"signature_name\": \"\xc3\x28\", \"instances\": [[1.0]]}",
				// Text after the root value is ignored, as TF Serving's rapidjson
				// (kParseStopWhenDoneFlag) does, so "{...}\xff" answers 200: not a case.
			} {
				if err := postExpect(ctx, t, []byte(body), nil); err != nil {
					return fmt.Errorf("%q: %w", body, err)
				}
			}
			st, resp, _, err := post(ctx, t, "/v1/models/%ff%fe:predict", strings.NewReader(`{"instances": [1.0]}`), nil)
			if err != nil {
				return err
			}
			return expect4xx(st, resp)
		}},
		{Name: "rest/numbers_out_of_range", Run: func(ctx context.Context, t *Target) error {
			for _, body := range []string{
				`{"instances": [[1e999999999]]}`,
				`{"instances": [[` + strings.Repeat("9", 1<<20) + `]]}`,
				`{"instances": [[-` + strings.Repeat("0", 1<<20) + `.5e-99999999999999999999]]}`,
			} {
				st, resp, _, err := post(ctx, t, predictPath(t.Model), strings.NewReader(body), nil)
				if err != nil {
					return err
				}
				// TF Serving parses 1e999999999 as +Inf and answers 200; either
				// a 200 or a clear 4xx is fine, a 5xx is not.
				if st != 200 {
					if err := expect4xx(st, resp); err != nil {
						return fmt.Errorf("%.40q: %w", body, err)
					}
				}
			}
			return nil
		}},
	}
}

// columnarHugeOutput sends a small columnar request of rank 254 whose
// pretty-printed response would grow with depth × elements: the server
// must refuse it by --response_max_bytes or answer within that bound.
func columnarHugeOutput(ctx context.Context, t *Target) error {
	const rank = 254
	inner := strings.TrimSuffix(strings.Repeat("1,", 5000), ",")
	body := nested(`{"inputs": {"x": `, "[", inner, "]", "}}", rank-1)
	if len(body) > 12<<10 {
		return fmt.Errorf("test bug: body is %d bytes", len(body))
	}
	st, resp, n, err := post(ctx, t, predictPath(t.AnyShapeModel), bytes.NewReader(body), nil)
	if err != nil {
		return err
	}
	t.logf("%d-byte request: %d, %d-byte response %s", len(body), st, n, trunc(resp, 200))
	if st == 200 {
		if n > 256<<20 {
			return fmt.Errorf("a %d-byte request got a %d-byte response, over --response_max_bytes' default", len(body), n)
		}
		return nil
	}
	return expect4xx(st, resp, "response_max_bytes", "request_max_rank")
}
