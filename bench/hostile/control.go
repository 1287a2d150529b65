package hostile

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/tfserve/tfserve/proto/servingpb"
)

// metricsPage returns the Prometheus page.
func metricsPage(ctx context.Context, t *Target) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.Proc.REST()+MetricsPath, nil)
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %d", MetricsPath, resp.StatusCode)
	}
	return string(b), err
}

func get(ctx context.Context, t *Target, path string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.Proc.REST()+path, nil)
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

func controlCases() []Case {
	return []Case{
		{Name: "control/nonexistent_models_20000", Slow: true, Run: nonexistentModels},
		{Name: "control/reload_config_secret", Slow: true, Run: reloadConfigSecret},
	}
}

// nonexistentModels asks for 20,000 distinct unknown model names over REST
// and gRPC: each gets NOT_FOUND, and the metrics page must not grow a
// series per name.
func nonexistentModels(ctx context.Context, t *Target) error {
	before, err := metricsPage(ctx, t)
	if err != nil {
		return err
	}
	const n = 20_000
	var next, bad atomic.Int64
	var firstBad atomic.Value
	var wg sync.WaitGroup
	client := servingpb.NewPredictionServiceClient(t.GRPC)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n || ctx.Err() != nil {
					return
				}
				name := "nx_" + strconv.FormatInt(i, 36)
				var err error
				if i%2 == 0 {
					st, body, _, perr := post(ctx, t, predictPath(name), strings.NewReader(`{"instances": [[1.0]]}`), nil)
					err = perr
					if err == nil && st != http.StatusNotFound {
						err = fmt.Errorf("%s: status %d, want 404: %s", name, st, trunc(body, 200))
					}
				} else {
					_, gerr := client.Predict(ctx, predictReq(name, "", "x", nil))
					if gerr == nil || !strings.Contains(gerr.Error(), "NotFound") {
						err = fmt.Errorf("%s: gRPC error %v, want NotFound", name, gerr)
					}
				}
				if err != nil {
					bad.Add(1)
					firstBad.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() > 0 {
		return fmt.Errorf("%d of %d unknown-model requests answered wrongly, e.g. %v", bad.Load(), n, firstBad.Load())
	}
	after, err := metricsPage(ctx, t)
	if err != nil {
		return err
	}
	if strings.Contains(after, "nx_") {
		return fmt.Errorf("the metrics page labels series with unknown model names (%d bytes before, %d after)", len(before), len(after))
	}
	// The page may grow by the counters' digits, not by a series per name.
	if len(after) > len(before)+16<<10 {
		return fmt.Errorf("the metrics page grew from %d to %d bytes after %d unknown model names", len(before), len(after), n)
	}
	return nil
}

// reloadConfigSecret sends HandleReloadConfigRequest keeping every
// configured model and adding two whose base paths carry credentials and
// point at a closed loopback port; the secret must not appear in the
// answer, in model status, in REST, in the metrics or on stderr, and the
// configured models must keep serving.
func reloadConfigSecret(ctx context.Context, t *Target) error {
	port, err := FreePort() // closed again: nothing listens there
	if err != nil {
		return err
	}
	hostPort := "127.0.0.1:" + strconv.Itoa(port)
	bad := []ModelConfig{
		{Name: "secret_userinfo", BasePath: "http://tfuser:" + t.Secret + "@" + hostPort + "/models/m.tar.gz"},
		{Name: "secret_signed_url", BasePath: "https://" + hostPort + "/m.tar.gz?X-Amz-Credential=AKIA&X-Amz-Signature=" + t.Secret},
	}
	models := append(append([]ModelConfig(nil), t.Config...), bad...)
	cfg := &servingpb.ModelServerConfig{}
	if err := prototext.Unmarshal([]byte(ConfigText(models)), cfg); err != nil {
		return fmt.Errorf("test bug: %w", err)
	}
	ms := servingpb.NewModelServiceClient(t.GRPC)
	var seen []string
	resp, rerr := ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{Config: cfg})
	seen = append(seen, fmt.Sprint(resp), fmt.Sprint(rerr))
	t.logf("reload with credentials in base paths: %v %v", resp, rerr)
	// Give the bad models time to fail their loads (and log it).
	deadline := time.Now().Add(15 * time.Second)
	for _, m := range bad {
		for time.Now().Before(deadline) {
			st, err := ms.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: &servingpb.ModelSpec{Name: m.Name}})
			seen = append(seen, fmt.Sprint(st), fmt.Sprint(err))
			if err != nil || failed(st) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		_, body, _ := get(ctx, t, "/v1/models/"+m.Name)
		seen = append(seen, body)
		t.logf("%s status: %s", m.Name, trunc([]byte(body), 300))
	}
	page, err := metricsPage(ctx, t)
	if err != nil {
		return err
	}
	seen = append(seen, page)
	// Restore the original config.
	orig := &servingpb.ModelServerConfig{}
	prototext.Unmarshal([]byte(ConfigText(t.Config)), orig)
	resp, rerr = ms.HandleReloadConfigRequest(ctx, &servingpb.ReloadConfigRequest{Config: orig})
	seen = append(seen, fmt.Sprint(resp), fmt.Sprint(rerr))
	time.Sleep(500 * time.Millisecond) // let the failed loads' logging finish
	seen = append(seen, t.Proc.Stderr())
	for i, s := range seen {
		if strings.Contains(s, t.Secret) {
			where := []string{"the reload answer", "model status", "REST status", "metrics", "stderr"}
			return fmt.Errorf("the secret leaked (output %d of %d, %s): ...%s...", i+1, len(seen), guess(where, i, len(seen)), around(s, t.Secret))
		}
	}
	return t.Normal(ctx)
}

func failed(st *servingpb.GetModelStatusResponse) bool {
	for _, v := range st.GetModelVersionStatus() {
		if v.GetStatus().GetErrorCode() != 0 || v.GetState() == servingpb.ModelVersionStatus_END {
			return true
		}
	}
	return false
}

func guess(where []string, i, n int) string {
	switch {
	case i == 0:
		return where[0]
	case i == n-1:
		return where[4]
	case i >= n-3:
		return where[3] + " or the second reload"
	}
	return where[1] + " or " + where[2]
}

func around(s, secret string) string {
	i := strings.Index(s, secret)
	lo, hi := max(0, i-120), min(len(s), i+len(secret)+40)
	return s[lo:hi]
}
