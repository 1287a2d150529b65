package workers

import (
	"context"
	"testing"
	"time"
)

func TestReleaseLetsOthersIn(t *testing.T) {
	p := New(1)
	a := p.Take()
	got := make(chan *Slot)
	go func() { got <- p.Take() }()
	select {
	case <-got:
		t.Fatal("second Take got a worker while the only one was held")
	case <-time.After(20 * time.Millisecond):
	}
	for p.Busy() != 2 {
		time.Sleep(time.Millisecond) // one holding, one waiting
	}
	a.Release()
	b := <-got
	// a waits for b's worker.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Reacquire(ctx); err == nil {
		t.Fatal("Reacquire succeeded while the worker was taken")
	}
	if a.Held() {
		t.Fatal("slot held after a failed Reacquire")
	}
	b.Release()
	if err := a.Reacquire(context.Background()); err != nil || !a.Held() {
		t.Fatalf("Reacquire: %v, held %v", err, a.Held())
	}
	a.Release()
	a.Release() // no-op: must not free a worker someone else holds
	c := p.Take()
	if _, err := p.TakeContext(ctx); err == nil {
		t.Fatal("TakeContext got a second worker from a pool of one")
	}
	c.Release()
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("slot from an empty context")
	}
	p := New(2)
	s := p.Take()
	defer s.Release()
	if FromContext(NewContext(context.Background(), s)) != s {
		t.Fatal("slot lost in the context")
	}
	if NewContext(context.Background(), nil) != context.Background() {
		t.Fatal("nil slot changed the context")
	}
	var none *Slot
	none.Release()
	if err := none.Reacquire(context.Background()); err != nil || none.Held() {
		t.Fatal("nil slot misbehaves")
	}
}
