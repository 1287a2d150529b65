package admission

import (
	"math"
	"runtime/metrics"
	"time"
)

// schedLatencyMetric is the runtime's histogram of the time goroutines
// spent runnable before they ran. Under a CPU overload it is where requests
// wait before any handler sees them: a connection's goroutine is woken by
// the network poller when the request arrives and then waits its turn
// behind every other runnable connection.
const schedLatencyMetric = "/sched/latencies:seconds"

// SchedLatency reads the runtime's scheduling-latency histogram and
// reports a quantile of the latencies recorded since the previous read. It
// is not safe for concurrent use.
type SchedLatency struct {
	q      float64
	sample []metrics.Sample
	prev   []uint64
	delta  []uint64
}

// NewSchedLatency returns a reader of the q-quantile (0 < q < 1).
func NewSchedLatency(q float64) *SchedLatency {
	return &SchedLatency{q: q, sample: []metrics.Sample{{Name: schedLatencyMetric}}}
}

// Read returns the q-quantile of the scheduling latencies recorded since
// the previous Read (the upper bound of the bucket that holds it; 0 when
// none was recorded, or when the runtime does not export the histogram).
// The first Read covers the process's lifetime.
func (s *SchedLatency) Read() time.Duration {
	metrics.Read(s.sample)
	if s.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0
	}
	h := s.sample[0].Value.Float64Histogram()
	if len(s.prev) != len(h.Counts) {
		s.prev = make([]uint64, len(h.Counts))
		s.delta = make([]uint64, len(h.Counts))
	}
	for i, c := range h.Counts {
		s.delta[i] = c - s.prev[i]
		s.prev[i] = c
	}
	return quantile(s.delta, h.Buckets, s.q)
}

// quantile returns the upper bound of the bucket holding the q-quantile of
// counts (buckets has one more entry than counts, as in runtime/metrics);
// 0 for an empty histogram. An unbounded last bucket reports its lower
// bound.
func quantile(counts []uint64, buckets []float64, q float64) time.Duration {
	var total uint64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var cum uint64
	for i, c := range counts {
		cum += c
		if cum < rank {
			continue
		}
		hi := buckets[i+1]
		if math.IsInf(hi, 1) {
			hi = buckets[i]
		}
		return time.Duration(hi * float64(time.Second))
	}
	return 0
}
