package workers

import (
	"context"
	"testing"
)

func TestTakeIntoHoldsAWorker(t *testing.T) {
	p := New(1)
	var s Slot
	p.TakeInto(&s)
	if !s.Held() || s.Pool() != p || p.InUse() != 1 {
		t.Fatalf("after TakeInto: held %v, pool %p (want %p), in use %d", s.Held(), s.Pool(), p, p.InUse())
	}
	s.Release()
	if s.Held() || p.InUse() != 0 {
		t.Fatalf("after Release: held %v, in use %d", s.Held(), p.InUse())
	}
}

func TestIsContextKey(t *testing.T) {
	s := New(1).Take()
	defer s.Release()
	ctx := NewContext(context.Background(), s)
	if !IsContextKey(slotKey{}) {
		t.Fatal("slotKey{} is not the context key")
	}
	for _, k := range []any{"slot", 0, struct{}{}, nil} {
		if IsContextKey(k) {
			t.Fatalf("IsContextKey(%#v) = true", k)
		}
	}
	if FromContext(ctx) != s {
		t.Fatal("FromContext lost the slot")
	}
}
