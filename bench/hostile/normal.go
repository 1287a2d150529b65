package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
)

// Call is one normal request: it returns nil when the answer is right.
type Call struct {
	Name string
	Do   func(ctx context.Context) error
}

// RESTPredict is a normal REST predict call whose response must hold
// exactly want (compared as JSON values).
func RESTPredict(client *http.Client, url, body, want string) func(context.Context) error {
	var wantV any
	if err := json.Unmarshal([]byte(want), &wantV); err != nil {
		panic(fmt.Sprintf("hostile: bad expected JSON %q: %v", want, err))
	}
	return func(ctx context.Context) error {
		got, err := postOK(ctx, client, url, body)
		if err != nil {
			return err
		}
		var gotV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			return fmt.Errorf("POST %s: bad JSON %s", url, trunc(got, 300))
		}
		if !jsonEqual(gotV, wantV) {
			return fmt.Errorf("POST %s: got %s, want %s", url, trunc(got, 300), want)
		}
		return nil
	}
}

// postOK posts body to url and returns the first MiB of a 200 answer; any
// other status is an error.
func postOK(ctx context.Context, client *http.Client, url, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, trunc(got, 300))
	}
	return got, nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// GRPCHalfPlusTwo is a normal gRPC predict call on a half_plus_two model
// (input x, output y = x/2 + 2, float, shape [n]).
func GRPCHalfPlusTwo(conn grpc.ClientConnInterface, model string) func(context.Context) error {
	client := servingpb.NewPredictionServiceClient(conn)
	xs := []float32{1, 2, 5, 10}
	return func(ctx context.Context) error {
		req := &servingpb.PredictRequest{
			ModelSpec: &servingpb.ModelSpec{Name: model},
			Inputs: map[string]*tfpb.TensorProto{"x": {
				Dtype:       tfpb.DataType_DT_FLOAT,
				TensorShape: &tfpb.TensorShapeProto{Dim: []*tfpb.TensorShapeProto_Dim{{Size: int64(len(xs))}}},
				FloatVal:    xs,
			}},
		}
		resp, err := client.Predict(ctx, req)
		if err != nil {
			return fmt.Errorf("gRPC Predict %s: %w", model, err)
		}
		y := resp.GetOutputs()["y"]
		got := y.GetFloatVal()
		if len(got) == 0 && len(y.GetTensorContent()) == 4*len(xs) {
			return nil // tensor_content is fine too; values checked by the fixture tests
		}
		if len(got) != len(xs) {
			return fmt.Errorf("gRPC Predict %s: %d values, want %d", model, len(got), len(xs))
		}
		for i, x := range xs {
			if got[i] != x/2+2 {
				return fmt.Errorf("gRPC Predict %s: y[%d] = %v, want %v", model, i, got[i], x/2+2)
			}
		}
		return nil
	}
}

// Normal runs calls in a loop, each on its own goroutines, until Stop.
type Normal struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// StartNormal starts perCall goroutines per call, each calling in a loop
// with a 30-second deadline per call (a call that takes longer fails).
func StartNormal(calls []Call, perCall int) *Normal {
	ctx, cancel := context.WithCancel(context.Background())
	n := &Normal{cancel: cancel}
	for _, c := range calls {
		for i := 0; i < perCall; i++ {
			n.wg.Add(1)
			go n.loop(ctx, c)
		}
	}
	return n
}

func (n *Normal) loop(ctx context.Context, c Call) {
	defer n.wg.Done()
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := c.Do(cctx)
		cancel()
		if ctx.Err() != nil {
			return // stopped mid-call: not the server's failure
		}
		if err != nil {
			n.failed.Add(1)
			n.mu.Lock()
			if len(n.failures) < 20 {
				n.failures = append(n.failures, c.Name+": "+err.Error())
			}
			n.mu.Unlock()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		n.ok.Add(1)
		time.Sleep(2 * time.Millisecond) // leave the 2 cores to the server and the battery
	}
}

// Counts returns the successful and failed calls so far.
func (n *Normal) Counts() (ok, failed int64) { return n.ok.Load(), n.failed.Load() }

// Failures returns up to 20 failure messages.
func (n *Normal) Failures() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.failures...)
}

// Stop ends the loops and waits for them.
func (n *Normal) Stop() {
	n.cancel()
	n.wg.Wait()
}

func trunc(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
