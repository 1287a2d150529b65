package batching

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/syncbuf"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/tensor"
)

// blockingModel's Run blocks until release is closed (or panics when told
// to); it records whether Close came while a Run was still running.
type blockingModel struct {
	started        chan struct{}
	release        chan struct{}
	panicking      bool
	running        atomic.Int32
	closed         atomic.Bool
	closedUnderRun atomic.Bool
}

func (m *blockingModel) Signatures() map[string]*servable.Signature {
	return map[string]*servable.Signature{"serving_default": {Name: "serving_default"}}
}

func (m *blockingModel) Close() error {
	if m.running.Load() > 0 {
		m.closedUnderRun.Store(true)
	}
	m.closed.Store(true)
	return nil
}

func (m *blockingModel) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	if m.panicking {
		panic("kernel index out of range /secret/path")
	}
	m.running.Add(1)
	defer m.running.Add(-1)
	close(m.started)
	<-m.release // ignores ctx, as a model in the middle of a kernel does
	return map[string]*tensor.Tensor{"y": in["x"]}, nil
}

func oneRow() map[string]*tensor.Tensor {
	return map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1, 1}, []float32{1})}
}

// A caller that gives up on its running batch returns at once, but the
// model is not closed under the batch: Close waits for Run to return.
func TestCloseWaitsForBatchOfCancelledCaller(t *testing.T) {
	s, err := NewScheduler(Params{MaxBatchSize: 4, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inner := &blockingModel{started: make(chan struct{}), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(inner.release) })
	defer release() // before s.Close, so that a failing test ends
	m := s.Wrap(inner)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := m.Run(ctx, "serving_default", oneRow(), nil)
		errc <- err
	}()
	<-inner.started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled caller got no error")
	}
	// The caller is gone (its handle would be released now); unload.
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while the batch was still running")
	case <-time.After(50 * time.Millisecond):
	}
	if inner.closed.Load() {
		t.Fatal("inner model closed while its batch runs")
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !inner.closed.Load() || inner.closedUnderRun.Load() {
		t.Fatalf("closed=%v closedUnderRun=%v; want closed after Run returned", inner.closed.Load(), inner.closedUnderRun.Load())
	}
}

// A model that panics on a batch thread answers every caller of the batch
// with INTERNAL "Internal error (id ...)", logs the panic once, and the
// thread keeps serving.
func TestBatchPanicBecomesInternalError(t *testing.T) {
	var logs syncbuf.Buffer
	s, err := NewScheduler(Params{MaxBatchSize: 8, BatchTimeout: 20 * time.Millisecond, NumBatchThreads: 1,
		MaxEnqueuedBatches: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bad := s.Wrap(&blockingModel{panicking: true})
	const callers = 3
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bad.Run(context.Background(), "serving_default", oneRow(), nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if status.CodeOf(err) != status.Internal || !strings.HasPrefix(err.Error(), "Internal error (id ") ||
			strings.Contains(err.Error(), "secret") {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := strings.Count(logs.String(), "panic in batched model Run"); n < 1 || n > callers {
		t.Errorf("%d panic records for %d callers, want one per batch: %s", n, callers, logs.String())
	}
	// The batch thread survived: a good model on the same scheduler runs.
	good := s.Wrap(&rowModel{})
	x := map[string]*tensor.Tensor{"x": tensor.FromSlice(tensor.Shape{1, 2}, []float32{2, 0})}
	out, err := good.Run(context.Background(), "serving_default", x, nil)
	if err != nil || out["y"].F32()[0] != 7 {
		t.Fatalf("after panic: %v, %v", out, err)
	}
}
