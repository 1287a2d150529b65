package restapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tfserve/tfserve/server/workers"
)

// The run context that runContext starts inside the request's state carries
// the worker slot (no WithValue layer), keeps its parent's values, and ends
// with Canceled when the run ends.
func TestRunContextInRequestState(t *testing.T) {
	s := &Server{opts: Options{Timeout: time.Hour}}
	rq := new(request)
	workers.New(1).TakeInto(&rq.slot)
	defer rq.slot.Release()
	rn := runner{slot: &rq.slot, served: &rq.served, rc: &rq.run}
	run := s.runContext(rn)
	if run.ctx != context.Context(&rq.run) || run.rc != &rq.run {
		t.Fatal("runContext did not use the request's run context")
	}
	if got := workers.FromContext(run.ctx); got != &rq.slot {
		t.Fatalf("FromContext = %p, want the request's slot %p", got, &rq.slot)
	}
	if d, ok := run.ctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("deadline %v %v, want about an hour from now", d, ok)
	}
	if v := run.ctx.Value("other"); v != nil {
		t.Fatalf("Value(other) = %v, want nil", v)
	}
	// A second run of the same request gets a context of its own.
	run2 := s.runContext(rn)
	if run2.rc == &rq.run || workers.FromContext(run2.ctx) != &rq.slot {
		t.Fatal("second runContext reused the started context or lost the slot")
	}
	run2.end()
	if run.ctx.Err() != nil {
		t.Fatalf("first context ended with the second: %v", run.ctx.Err())
	}
	run.end()
	if !errors.Is(run.ctx.Err(), context.Canceled) {
		t.Fatalf("Err after end = %v, want Canceled", run.ctx.Err())
	}
	select {
	case <-run.ctx.Done():
	default:
		t.Fatal("Done not closed after end")
	}
}

// Without a timeout and a client deadline the context only carries the
// slot; with a short timeout it is a WithDeadline context.
func TestRunContextWithoutQueue(t *testing.T) {
	slot := workers.New(1).Take()
	defer slot.Release()
	s := &Server{}
	run := s.runContext(runner{slot: slot})
	if _, ok := run.ctx.Deadline(); ok || workers.FromContext(run.ctx) != slot {
		t.Fatal("no-timeout context has a deadline or lost the slot")
	}
	run.end()
	s = &Server{opts: Options{Timeout: time.Millisecond}}
	run = s.runContext(runner{slot: slot})
	if _, ok := run.ctx.Deadline(); !ok || run.rc != nil || workers.FromContext(run.ctx) != slot {
		t.Fatal("short timeout: want a WithDeadline context carrying the slot")
	}
	run.end()
	if !errors.Is(run.ctx.Err(), context.Canceled) && !errors.Is(run.ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err after end = %v", run.ctx.Err())
	}
}
