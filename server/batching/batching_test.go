package batching

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfserve/tfserve/internal/fixtures"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/workers"
	"github.com/tfserve/tfserve/tensor"
)

// rowModel computes y[i] = 3*x[i] + 1 row by row and records batch sizes.
type rowModel struct {
	mu      sync.Mutex
	batches []int
	delay   time.Duration
	calls   atomic.Int32
}

func (m *rowModel) Signatures() map[string]*servable.Signature {
	return map[string]*servable.Signature{"serving_default": {Name: "serving_default"}}
}
func (m *rowModel) Close() error { return nil }
func (m *rowModel) Run(ctx context.Context, sig string, in map[string]*tensor.Tensor, out []string) (map[string]*tensor.Tensor, error) {
	m.calls.Add(1)
	x := in["x"]
	m.mu.Lock()
	m.batches = append(m.batches, x.Shape[0])
	m.mu.Unlock()
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	y := tensor.New(tensor.Float32, x.Shape)
	for i, v := range x.F32() {
		y.F32()[i] = 3*v + 1
	}
	ids := tensor.New(tensor.Int64, tensor.Shape{x.Shape[0]})
	for i := range ids.I64() {
		ids.I64()[i] = int64(x.F32()[i*x.Shape[1]])
	}
	return map[string]*tensor.Tensor{"y": y, "id": ids}, nil
}

func TestValidate(t *testing.T) {
	bad := []Params{
		{MaxBatchSize: 0, NumBatchThreads: 1, MaxEnqueuedBatches: 1},
		{MaxBatchSize: 8, NumBatchThreads: 1, MaxEnqueuedBatches: 1, AllowedBatchSizes: []int{2, 4}},
		{MaxBatchSize: 8, NumBatchThreads: 1, MaxEnqueuedBatches: 1, AllowedBatchSizes: []int{4, 2, 8}},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("case %d: %+v validated", i, p)
		}
	}
	good := Params{MaxBatchSize: 8, NumBatchThreads: 2, MaxEnqueuedBatches: 4, AllowedBatchSizes: []int{2, 4, 8}}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
	if err := bad[1].Validate(); !strings.Contains(err.Error(), "Last entry in allowed_batch_sizes must match max_batch_size") {
		t.Errorf("message: %v", err)
	}
}

// TestNoRowMixing: many concurrent clients with distinct rows of varying
// batch sizes; every response must hold exactly its own rows, and the
// scheduler must actually have merged requests.
func TestNoRowMixing(t *testing.T) {
	for _, timeout := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(fmt.Sprint(timeout), func(t *testing.T) {
			s, err := NewScheduler(Params{MaxBatchSize: 16, BatchTimeout: timeout, NumBatchThreads: 1, MaxEnqueuedBatches: 1000, AllowedBatchSizes: []int{4, 8, 16}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			inner := &rowModel{delay: 200 * time.Microsecond}
			m := s.Wrap(inner)
			var wg sync.WaitGroup
			var fails atomic.Int32
			for c := 0; c < 16; c++ {
				wg.Add(1)
				go func(c int) {
					defer wg.Done()
					for r := 0; r < 40; r++ {
						rows := 1 + (c+r)%3
						x := tensor.New(tensor.Float32, tensor.Shape{rows, 2})
						for i := 0; i < rows; i++ {
							id := float32(c*1000 + r*10 + i)
							x.F32()[2*i], x.F32()[2*i+1] = id, -id
						}
						out, err := m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": x}, []string{"y", "id"})
						if err != nil {
							t.Error(err)
							fails.Add(1)
							return
						}
						y, ids := out["y"], out["id"]
						if !y.Shape.Equal(tensor.Shape{rows, 2}) || ids.Len() != rows {
							t.Errorf("client %d: shapes %v %v for %d rows", c, y.Shape, ids.Shape, rows)
							return
						}
						for i := 0; i < rows; i++ {
							id := float32(c*1000 + r*10 + i)
							if y.F32()[2*i] != 3*id+1 || y.F32()[2*i+1] != -3*id+1 || ids.I64()[i] != int64(id) {
								t.Errorf("client %d request %d row %d holds another request's data: %v", c, r, i, y.F32()[2*i:2*i+2])
								return
							}
						}
					}
				}(c)
			}
			wg.Wait()
			merged := 0
			for _, b := range inner.batches {
				if b > 3 {
					merged++
				}
				if b != 1 && b != 2 && b != 3 && b != 4 && b != 8 && b != 16 {
					t.Errorf("batch of %d rows: not padded to an allowed size", b)
				}
			}
			if merged == 0 {
				t.Errorf("no request was ever merged (batches %v)", inner.batches)
			}
			t.Logf("%d calls for %d requests", inner.calls.Load(), 16*40)
		})
	}
}

func TestQueueFullAndLimits(t *testing.T) {
	s, err := NewScheduler(Params{MaxBatchSize: 2, BatchTimeout: time.Hour, NumBatchThreads: 1, MaxEnqueuedBatches: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Wrap(&rowModel{})
	x := tensor.New(tensor.Float32, tensor.Shape{3, 2})
	if _, err := m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": x}, nil); status.CodeOf(err) != status.InvalidArgument {
		t.Errorf("oversized task: got %v", err)
	}
	// One open batch (waiting an hour) fills the single queue slot. The
	// second task is sent once the first has opened it (a fixed 10 ms
	// sleep could end first on a loaded machine).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	one := tensor.New(tensor.Float32, tensor.Shape{1, 2})
	go m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": one}, nil)
	q := m.(*model).queue("serving_default")
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		q.mu.Lock()
		opened := q.enqueued == 1
		q.mu.Unlock()
		if opened {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the first task did not open a batch in 30 s")
		}
	}
	two := tensor.New(tensor.Float32, tensor.Shape{2, 2})
	_, err = m.Run(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": two}, nil)
	if status.CodeOf(err) != status.Unavailable {
		t.Errorf("full queue: got %v, want UNAVAILABLE", err)
	}
}

func TestParseParamsFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures.Dir(t), "tfserving/servables/tensorflow/testdata/batching_config.txt"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseParams(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", p)
	if p.MaxBatchSize <= 0 || p.NumBatchThreads <= 0 {
		t.Errorf("parsed %+v", p)
	}
	if _, err := ParseParams([]byte("max_batch_size { value: 8 } allowed_batch_sizes: 2 allowed_batch_sizes: 4"), 2); err == nil {
		t.Error("allowed_batch_sizes not ending at max_batch_size was accepted")
	}
	if _, err := ParseParams([]byte("max_batch_size: {"), 2); err == nil {
		t.Error("malformed text accepted")
	}
}

// TestWaitingGivesBackWorker: requests waiting for their batch give their
// server worker back, so a batch can grow past the number of workers. With
// 2 workers and a batch closed only when full (8 rows), the 8 requests must
// meet in one batch, and each must hold its worker again when Run returns.
func TestWaitingGivesBackWorker(t *testing.T) {
	s, err := NewScheduler(Params{MaxBatchSize: 8, BatchTimeout: time.Second, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inner := &rowModel{}
	m := s.Wrap(inner)
	pool := workers.New(2)
	// All 8 requests arrive before any runs: hold both workers until every
	// request waits for one.
	gate := []*workers.Slot{pool.Take(), pool.Take()}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot := pool.Take()
			defer slot.Release()
			x := tensor.FromSlice(tensor.Shape{1, 1}, []float32{float32(i)})
			ctx, cancel := context.WithTimeout(workers.NewContext(context.Background(), slot), 30*time.Second)
			defer cancel()
			out, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": x}, nil)
			switch {
			case err != nil:
				errs <- err
			case out["y"].F32()[0] != 3*float32(i)+1:
				errs <- fmt.Errorf("request %d got row %v", i, out["y"].F32())
			case !slot.Held():
				errs <- fmt.Errorf("request %d lost its worker", i)
			}
		}()
	}
	for pool.Busy() < 10 {
		time.Sleep(time.Millisecond)
	}
	for _, g := range gate {
		g.Release()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	inner.mu.Lock()
	defer inner.mu.Unlock()
	if fmt.Sprint(inner.batches) != "[8]" {
		t.Errorf("batches %v, want one batch of 8", inner.batches)
	}
	if pool.InUse() != 0 {
		t.Errorf("%d workers held after the run", pool.InUse())
	}
}

// TestLoneRequestDoesNotWaitForTimeout: when no other request is being
// decoded or waits for a worker, nobody can join the batch, so it runs at
// once instead of after batch_timeout_micros.
func TestLoneRequestDoesNotWaitForTimeout(t *testing.T) {
	s, err := NewScheduler(Params{MaxBatchSize: 8, BatchTimeout: time.Hour, NumBatchThreads: 1, MaxEnqueuedBatches: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inner := &rowModel{}
	m := s.Wrap(inner)
	pool := workers.New(4)
	for i := range 3 {
		slot := pool.Take()
		ctx, cancel := context.WithTimeout(workers.NewContext(context.Background(), slot), 10*time.Second)
		x := tensor.FromSlice(tensor.Shape{1, 1}, []float32{float32(i)})
		out, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"x": x}, nil)
		cancel()
		slot.Release()
		if err != nil {
			t.Fatalf("request %d: %v (waited for the hour-long timeout?)", i, err)
		}
		if out["y"].F32()[0] != 3*float32(i)+1 {
			t.Errorf("request %d: %v", i, out["y"].F32())
		}
	}
	inner.mu.Lock()
	defer inner.mu.Unlock()
	if fmt.Sprint(inner.batches) != "[1 1 1]" {
		t.Errorf("batches %v, want three of one row", inner.batches)
	}
}
