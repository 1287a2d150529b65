//go:build linux

package gemm

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU returns the calling thread's CPU time in seconds; benchmarks use
// it so that other processes on a shared machine do not skew GFLOP/s.
func threadCPU() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

func cpuTimer(b *testing.B) func() float64 {
	runtime.LockOSThread()
	t0 := threadCPU()
	return func() float64 {
		d := threadCPU() - t0
		runtime.UnlockOSThread()
		return d
	}
}
