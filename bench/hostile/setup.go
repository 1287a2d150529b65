package hostile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tfserve/tfserve/internal/golden"
)

// Setup says where things are for Launch.
type Setup struct {
	Root, Fixtures, Binary string
	// Dir is an empty scratch folder (configs, the victim's base path).
	Dir string
	// AddressSpace is the server's RLIMIT_AS (bytes).
	AddressSpace int64
	// Env is added to the server's environment (e.g. GOGC=100).
	Env []string
}

// Flags are the server flags Launch adds: fast polling for the dropped
// model versions, no load retries, and a 64 MiB constant budget so that a
// model within budget cannot by itself move RSS past the test's bound
// (the default, 4 GiB, is sized for real models, not for a memory bound).
var Flags = []string{
	"--file_system_poll_wait_seconds=1", "--max_num_load_retries=0",
	"--model_max_const_bytes=67108864",
}

// Served model names.
const (
	ModelDemo   = "half_plus_two" // testdata/models, x float [-1,1]
	ModelAny    = "hp2_cpu"       // TF Serving's saved_model_half_plus_two_cpu, x of any shape
	ModelGRU    = "gru_stock"     // keras/gru/christopher_stock
	ModelVictim = "victim"        // a copy of the demo, in a watched base path
	secret      = "Sup3rS3cretPw-e2e-4b1d"
)

// Launch starts the server on the demo models, two fixtures and the victim
// and returns the Target, the normal calls, and a stop function.
func Launch(ctx context.Context, s Setup) (*Target, []Call, func(), error) {
	demo := filepath.Join(s.Root, "testdata", "models", "half_plus_two")
	victimBase := filepath.Join(s.Dir, "victim")
	if err := copyTree(filepath.Join(demo, "00000123"), filepath.Join(victimBase, "1")); err != nil {
		return nil, nil, nil, err
	}
	gruDir := filepath.Join(s.Fixtures, "keras", "gru", "christopher_stock")
	models := []ModelConfig{
		{ModelDemo, demo},
		{ModelAny, filepath.Join(s.Fixtures, "tfserving", "servables", "tensorflow", "testdata", "saved_model_half_plus_two_cpu")},
		{ModelGRU, gruDir},
		{ModelVictim, victimBase},
	}
	gold, err := golden.Read(filepath.Join(gruDir, "golden.json"))
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := Start(ctx, Options{
		Binary: s.Binary, AddressSpace: s.AddressSpace, Dir: s.Dir, Config: ConfigText(models),
		MonitoringConfig: `prometheus_config { enable: true path: "` + MetricsPath + `" }`,
		Flags:            Flags,
		Env:              s.Env,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	conn, err := grpc.NewClient(p.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		p.Stop()
		return nil, nil, nil, err
	}
	httpc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	stop := func() { conn.Close(); p.Stop() }
	if err := waitAvailable(ctx, httpc, p, models); err != nil {
		stop()
		return nil, nil, nil, err
	}
	demoCall := RESTPredict(httpc, p.REST()+predictPath(ModelDemo), `{"instances": [[1.0], [2.0], [5.0]]}`, `{"predictions": [[2.5], [3.0], [4.5]]}`)
	t := &Target{
		Proc: p, HTTP: httpc, GRPC: conn, Model: ModelDemo, AnyShapeModel: ModelAny,
		Victim: ModelVictim, VictimBase: victimBase, VictimSource: filepath.Join(demo, "00000123"),
		VictimNormal: RESTPredict(httpc, p.REST()+predictPath(ModelVictim), `{"instances": [[4.0]]}`, `{"predictions": [[4.0]]}`),
		Config:       models, Secret: secret, Normal: demoCall,
	}
	calls := []Call{
		{Name: "REST " + ModelDemo, Do: demoCall},
		{Name: "gRPC " + ModelAny, Do: GRPCHalfPlusTwo(conn, ModelAny)},
		{Name: "REST " + ModelGRU, Do: goldenCall(httpc, p.REST()+predictPath(ModelGRU), &gold.Cases[0])},
		{Name: "REST " + ModelVictim, Do: t.VictimNormal},
	}
	return t, calls, stop, nil
}

// goldenCall posts a golden case and checks the answer against it.
func goldenCall(client *http.Client, url string, c *golden.Case) func(context.Context) error {
	return func(ctx context.Context) error {
		b, err := postOK(ctx, client, url, string(c.Request))
		if err != nil {
			return err
		}
		return c.Check(b)
	}
}

// waitAvailable waits up to 2 minutes for every model's status to say
// AVAILABLE.
func waitAvailable(ctx context.Context, c *http.Client, p *Proc, models []ModelConfig) error {
	deadline := time.Now().Add(2 * time.Minute)
	for _, m := range models {
		for {
			if !p.Alive() {
				return fmt.Errorf("server died while loading: %s\n%s", p.ExitError(), tail(p.Stderr(), 4000))
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.REST()+"/v1/models/"+m.Name, nil)
			resp, err := c.Do(req)
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				if strings.Contains(string(b), `"AVAILABLE"`) {
					break
				}
			}
			if time.Now().After(deadline) {
				return errors.New("model " + m.Name + " not AVAILABLE after 2 minutes\n" + tail(p.Stderr(), 4000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}
