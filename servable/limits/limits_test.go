package limits

import (
	"strings"
	"testing"

	"github.com/tfserve/tfserve/servable/status"
)

func TestBudgetTake(t *testing.T) {
	b := NewBudget(Request{MaxElements: 10, MaxBytes: 40})
	if err := b.Take(6, 24); err != nil {
		t.Fatal(err)
	}
	err := b.Take(5, 4)
	if err == nil || status.CodeOf(err) != status.InvalidArgument ||
		!strings.Contains(err.Error(), "needs 11, over the limit of 10 (--request_max_elements)") {
		t.Fatalf("elements: %v", err)
	}
	err = b.Take(4, 17)
	if err == nil || !strings.Contains(err.Error(), "needs 41, over the limit of 40 (--request_max_bytes)") {
		t.Fatalf("bytes: %v", err)
	}
	if err := b.Take(4, 16); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
	if err := b.Take(-1, 0); err == nil {
		t.Fatal("negative elements accepted")
	}
}

func TestRank(t *testing.T) {
	b := NewBudget(Request{})
	if err := b.Rank(254); err != nil {
		t.Fatal(err)
	}
	if err := b.Rank(255); err == nil || !strings.Contains(err.Error(), "tensor rank is 255, over the limit of 254 (--request_max_rank)") {
		t.Fatalf("rank 255: %v", err)
	}
	if got := (Request{MaxRank: 1000}).WithDefaults().MaxRank; got != MaxRank {
		t.Fatalf("MaxRank above TF's limit became %d", got)
	}
}

func TestElements(t *testing.T) {
	for _, c := range []struct {
		dims []int64
		want int64
	}{
		{nil, 1}, {[]int64{2, 3}, 6}, {[]int64{0, 1 << 62}, 0}, {[]int64{-1}, -1},
		{[]int64{1 << 32, 1 << 31}, -1}, {[]int64{1 << 31, 1 << 31}, 1 << 62},
	} {
		if got := Elements(c.dims); got != c.want {
			t.Errorf("Elements(%v) = %d, want %d", c.dims, got, c.want)
		}
	}
}
