package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tfserve/tfserve/internal/sourcetest"
	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
	"github.com/tfserve/tfserve/server/manager"
)

type harness struct {
	t      *testing.T
	fakes  *fakemodel.Folders
	mgr    *manager.Manager
	srv    *Server
	url    string
	client *http.Client
}

// newHarness serves the models in cfg (built by the caller) over real HTTP
// on 127.0.0.1.
func newHarness(t *testing.T, cfg *servingpb.ModelServerConfig, mod func(*Options), tweak func(*fakemodel.HalfPlusTwo)) *harness {
	t.Helper()
	f := &fakemodel.Folders{Tweak: tweak}
	mgr, err := manager.New(manager.Options{
		Load:         f.Load,
		OpenSource:   func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
		PollInterval: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = mgr.ReloadConfig(context.Background(), cfg) // errors show up in status/readyz
	opts := Options{Models: mgr}
	if mod != nil {
		mod(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	h := &harness{t: t, fakes: f, mgr: mgr, srv: srv, url: "http://" + ln.Addr().String(),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = mgr.Close()
	})
	return h
}

func modelConfig(name, base string, labels map[string]int64, all bool) *servingpb.ModelConfig {
	mc := &servingpb.ModelConfig{Name: name, BasePath: base, ModelPlatform: "tensorflow", VersionLabels: labels}
	if all {
		mc.ModelVersionPolicy = &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy{
			PolicyChoice: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All_{
				All: &servingpb.FileSystemStoragePathSourceConfig_ServableVersionPolicy_All{}}}
	}
	return mc
}

func configOf(mcs ...*servingpb.ModelConfig) *servingpb.ModelServerConfig {
	return &servingpb.ModelServerConfig{Config: &servingpb.ModelServerConfig_ModelConfigList{
		ModelConfigList: &servingpb.ModelConfigList{Config: mcs}}}
}

type reply struct {
	code   int
	body   string
	header http.Header
}

// do sends a request and checks the headers every response must carry.
func (h *harness) do(method, path string, body []byte, hdr map[string]string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if path != "" && !strings.HasPrefix(path, "/") {
		h.t.Fatalf("bad path %q", path)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return reply{resp.StatusCode, string(b), resp.Header}
}

func (h *harness) post(path, body string) reply { return h.do("POST", path, []byte(body), nil) }
func (h *harness) get(path string) reply        { return h.do("GET", path, nil, nil) }

// expectError checks the HTTP status and that the body is
// {"error": "...substring..."}.
func (h *harness) expectError(r reply, code int, substr string) {
	h.t.Helper()
	if r.code != code {
		h.t.Errorf("status %d, want %d (body %s)", r.code, code, r.body)
		return
	}
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Error == nil {
		h.t.Errorf("body %q is not {\"error\": ...}: %v", r.body, err)
		return
	}
	if !strings.Contains(*e.Error, substr) {
		h.t.Errorf("error %q does not contain %q", *e.Error, substr)
	}
}

// decode parses a JSON body (with TF's bare NaN/Infinity tokens replaced by
// strings) into v.
func decode(t *testing.T, body string, v any) {
	t.Helper()
	r := strings.NewReplacer("-Infinity", `"-Infinity"`, "Infinity", `"Infinity"`, "NaN", `"NaN"`)
	if err := json.Unmarshal([]byte(r.Replace(body)), v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newHarnessB returns the handler of a server with model "m" at base, for
// benchmarks.
func newHarnessB(b *testing.B, base string) fasthttp.RequestHandler {
	f := &fakemodel.Folders{}
	mgr, err := manager.New(manager.Options{
		Load:       f.Load,
		OpenSource: func(_ context.Context, p string) (manager.Source, error) { return sourcetest.Dir(p), nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := mgr.ReloadConfig(context.Background(), configOf(modelConfig("m", base, nil, false))); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mgr.Close() })
	srv, err := New(Options{Models: mgr, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}
