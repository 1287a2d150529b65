package grpcapi

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/tfserve/tfserve/proto/servingpb"
	"github.com/tfserve/tfserve/proto/tfpb"
	"github.com/tfserve/tfserve/servable/status"
	"github.com/tfserve/tfserve/server/admission"
)

func TestAdmissionRefusesWithResourceExhausted(t *testing.T) {
	lim := admission.New(admission.Options{Fixed: 1, MaxQueue: 0})
	waitLim := admission.New(admission.Options{Fixed: 1, MaxQueue: 4})
	var (
		mu       sync.Mutex
		observed []RequestInfo
	)
	h, _, _ := fakeHarness(t, func(o *Options) {
		o.Admission = lim
		o.Observe = func(ri RequestInfo) {
			mu.Lock()
			observed = append(observed, ri)
			mu.Unlock()
		}
	}, nil)
	req := &servingpb.PredictRequest{ModelSpec: spec("m"), Inputs: map[string]*tfpb.TensorProto{"x": floatsProto([]float32{1}, 1, 1)}}
	ctx := context.Background()

	held, err := lim.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.pred.Predict(ctx, req)
	wantCode(t, "predict while full", err, codes.ResourceExhausted, "--admission_max_queue=0")
	// Metadata runs no model: not subject to admission.
	if _, err := h.pred.GetModelMetadata(ctx, &servingpb.GetModelMetadataRequest{ModelSpec: spec("m"),
		MetadataField: []string{"signature_def"}}); err != nil {
		t.Errorf("metadata while full: %v", err)
	}
	held.Release(false)

	if _, err := h.pred.Predict(ctx, req); err != nil {
		t.Fatalf("after release: %v", err)
	}
	s := lim.Stats()
	if s.InFlight != 0 || s.Admitted != 2 || s.NotAdmitted[admission.QueueFull] != 1 {
		t.Fatalf("stats %+v; want none in flight, 2 admitted, 1 queue_full", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) == 0 || observed[0].Code != status.ResourceExhausted || observed[0].API != "predict" || observed[0].Model != "m" {
		t.Fatalf("observed %+v; want the refusal first, as predict on m, RESOURCE_EXHAUSTED", observed)
	}

	// With room to wait: an RPC whose deadline ends while it waits is
	// never started.
	h2, _, _ := fakeHarness(t, func(o *Options) { o.Admission = waitLim }, nil)
	held, _ = waitLim.Acquire(ctx)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = h2.pred.Predict(dctx, req)
	wantCode(t, "predict past its deadline", err, codes.DeadlineExceeded, "")
	for waitLim.Stats().Queued != 0 {
		time.Sleep(time.Millisecond) // the server sees the deadline too (no timing asserted)
	}
	held.Release(false)
	if s := waitLim.Stats(); s.Admitted != 1 || s.InFlight != 0 {
		t.Fatalf("stats %+v; want only the held request admitted", s)
	}
}
