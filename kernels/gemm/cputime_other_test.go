//go:build !linux

package gemm

import (
	"testing"
	"time"
)

// cpuTimer falls back to wall-clock time where the thread CPU clock is not
// wired up.
func cpuTimer(b *testing.B) func() float64 {
	t0 := time.Now()
	return func() float64 { return time.Since(t0).Seconds() }
}
