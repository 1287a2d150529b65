// Package gctune sets the garbage collector's pace for a model server. A
// server whose models are small has a small live heap, so with Go's default
// (GOGC=100) it collects every few megabytes of request garbage, thousands of
// times a second under load. Start makes the next collection come when the
// heap has grown by the larger of the live heap (GOGC=100's rule) and a
// floor, re-tuned after every collection: small heaps get headroom, large
// ones (big models) keep the default and never double their footprint.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Percent returns the GOGC value that puts the next collection at
// live + max(live, floor) bytes, capped at maxPercent.
func Percent(live, floor uint64, maxPercent int) int {
	if live == 0 {
		return maxPercent
	}
	p := 100
	if floor > live {
		p = int(floor * 100 / live)
	}
	return min(max(p, 100), maxPercent)
}

// Tuner re-tunes GOGC after each collection. Stop ends it.
type Tuner struct {
	floor   uint64
	max     int
	stopped atomic.Bool
	// Retunes counts the collections the tuner has seen.
	Retunes atomic.Int64
	// Last is the last GOGC value set.
	Last atomic.Int64
}

// sentinel is re-armed with a finalizer after every collection.
type sentinel struct{ t *Tuner }

// Start begins tuning with the given growth floor in bytes (e.g. 256 MiB).
// It changes nothing and returns nil when the GOGC environment variable is
// set, so users keep control.
func Start(floor uint64, getenv func(string) string) *Tuner {
	if getenv("GOGC") != "" {
		return nil
	}
	t := &Tuner{floor: floor, max: 5000}
	t.arm()
	return t
}

// Stop ends the tuning; the GOGC value last set stays.
func (t *Tuner) Stop() {
	if t != nil {
		t.stopped.Store(true)
	}
}

func (t *Tuner) arm() {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) { s.t.onGC() })
}

func (t *Tuner) onGC() {
	if t.stopped.Load() {
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		p := Percent(sample[0].Value.Uint64(), t.floor, t.max)
		debug.SetGCPercent(p)
		t.Last.Store(int64(p))
	}
	t.Retunes.Add(1)
	t.arm()
}
