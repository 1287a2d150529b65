package restapi

import (
	"strings"
	"sync"
	"testing"

	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/internal/fakemodel"
)

// TestModelList: GET /v1/models lists every served model, sorted by name,
// each with GET /v1/models/{name}'s model_version_status (a failed version
// included, a model without versions empty); every other path keeps TF
// Serving's answer.
func TestModelList(t *testing.T) {
	baseA, baseB, baseC := t.TempDir(), t.TempDir(), t.TempDir()
	fakemodel.WriteVersion(t, baseA, 1, "1")
	fakemodel.WriteVersion(t, baseA, 2, "not-a-number")
	fakemodel.WriteVersion(t, baseB, 7, "0.5")
	var mu sync.Mutex
	var seen []RequestInfo
	h := newHarness(t, configOf(
		modelConfig("c", baseC, nil, false),
		modelConfig("b", baseB, nil, false),
		modelConfig("a", baseA, nil, true),
	), func(o *Options) {
		o.Observe = func(ri RequestInfo) {
			mu.Lock()
			seen = append(seen, ri)
			mu.Unlock()
		}
	}, nil)
	var st struct {
		MVS []struct {
			State  string `json:"state"`
			Status struct {
				Msg string `json:"error_message"`
			} `json:"status"`
		} `json:"model_version_status"`
	}
	eventually(t, "a's versions final", func() bool {
		decode(t, h.get("/v1/models/a").body, &st)
		return len(st.MVS) == 2 && st.MVS[0].State == "END" && st.MVS[1].State == "AVAILABLE"
	})
	eventually(t, "b available", func() bool { return strings.Contains(h.get("/v1/models/b").body, "AVAILABLE") })
	failed := string(appendProtoJSONString(nil, st.MVS[0].Status.Msg))
	if !strings.Contains(failed, "bad model file") {
		t.Fatalf("failed version's message %s", failed)
	}
	want := `{
 "models": [
  {
   "name": "a",
   "model_version_status": [
    {
     "version": "2",
     "state": "END",
     "status": {
      "error_code": "UNKNOWN",
      "error_message": ` + failed + `
     }
    },
    {
     "version": "1",
     "state": "AVAILABLE",
     "status": {
      "error_code": "OK",
      "error_message": ""
     }
    }
   ]
  },
  {
   "name": "b",
   "model_version_status": [
    {
     "version": "7",
     "state": "AVAILABLE",
     "status": {
      "error_code": "OK",
      "error_message": ""
     }
    }
   ]
  },
  {
   "name": "c",
   "model_version_status": []
  }
 ]
}
`
	mu.Lock()
	seen = nil
	mu.Unlock()
	for _, p := range []string{"/v1/models", "/V1/Models"} {
		if r := h.get(p); r.code != 200 || r.body != want {
			t.Errorf("GET %s: %d\n%s\nwant\n%s", p, r.code, r.body, want)
		}
	}
	mu.Lock()
	if len(seen) != 2 || seen[0].API != "status" || seen[0].Model != "" || seen[0].Code != status.OK {
		t.Errorf("observed %+v", seen)
	}
	mu.Unlock()

	// Each model's entry is its status answer, name first.
	r := h.get("/v1/models/b")
	if !strings.Contains(want, strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(r.body, "{\n"), "}\n"), "\n ", "\n   ")) {
		t.Errorf("b's entry differs from its status %s", r.body)
	}

	// TF Serving's answers elsewhere.
	for _, c := range []struct {
		method, path string
		code         int
		msg          string
	}{
		{"GET", "/v1/models/", 400, "Malformed request: GET /v1/models/"},
		{"GET", "/v1/models?x=1", 400, "Malformed request: GET /v1/models?x=1"},
		{"POST", "/v1/models", 400, "Malformed request: POST /v1/models"},
		{"GET", "/v1/models/versions/3", 400, "Missing model name in request."},
		{"GET", "/v1/models/labels/x", 400, "Missing model name in request."},
		{"GET", "/v1/models/c", 404, "Could not find any versions of model c"},
	} {
		h.expectError(h.do(c.method, c.path, nil, nil), c.code, c.msg)
	}

	// An empty server lists nothing.
	e := newHarness(t, configOf(), nil, nil)
	if r := e.get("/v1/models"); r.code != 200 || r.body != "{\n \"models\": []\n}\n" {
		t.Errorf("no models: %d %q", r.code, r.body)
	}
}
