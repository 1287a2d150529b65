package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{8 * mib, 256 * mib, 3200}, // small heap: grow by the floor
		{256 * mib, 256 * mib, 100},
		{2048 * mib, 256 * mib, 100}, // big models keep GOGC=100
		{1 * mib, 256 * mib, 5000},   // capped
		{0, 256 * mib, 5000},
	} {
		if got := Percent(c.live, c.floor, 5000); got != c.want {
			t.Errorf("Percent(%d MiB, %d MiB) = %d, want %d", c.live/mib, c.floor/mib, got, c.want)
		}
	}
}

func TestStartRetunesAfterGC(t *testing.T) {
	if Start(1<<28, func(string) string { return "100" }) != nil {
		t.Fatal("tuned although GOGC was set")
	}
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	tu := Start(1<<28, func(string) string { return "" })
	defer tu.Stop()
	// The tuner runs after a collection, on its own goroutine: collect
	// until it has run twice, for up to 30 s (a loaded machine can take
	// longer than 20 collections 10 ms apart).
	n := 0
	for end := time.Now().Add(30 * time.Second); tu.Retunes.Load() < 2 && time.Now().Before(end); n++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if tu.Retunes.Load() < 2 {
		t.Fatalf("retuned %d times after %d collections in 30 s", tu.Retunes.Load(), n)
	}
	if got := debug.SetGCPercent(100); got <= 100 || int64(got) != tu.Last.Load() {
		t.Errorf("GOGC after tuning = %d (last set %d); a small test heap should get more than 100", got, tu.Last.Load())
	}
}
