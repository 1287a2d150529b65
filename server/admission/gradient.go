package admission

import "time"

// gradient adapts the in-flight limit to measured latency the way Netflix
// concurrency-limits' Gradient2 does: it keeps a slow average of the
// request latency (the long RTT, what latency is without queueing) and
// compares each window's mean (the short RTT) with it. When the short RTT
// exceeds tolerance × the long RTT, requests are queueing inside the server
// and the limit shrinks in proportion (by at most half per window); else it
// grows by queueSize. Each step is smoothed. With the gradient floored at
// 0.5 and queueSize 4, a saturated limit never settles below 8 (the fixed
// point of L = 0.8L + 0.2(L/2 + 4)): room for batches to form.
type gradient struct {
	limit     float64
	min, max  float64
	tolerance float64 // short RTT may exceed long RTT by this factor before the limit shrinks
	smoothing float64 // weight of each new estimate
	queueSize float64 // growth per window while latency is flat

	long     float64 // long RTT, ns
	longN    int     // windows folded into long
	longSpan int     // windows the long RTT averages over
}

// Gradient2's defaults.
const (
	gradientTolerance = 1.5
	gradientSmoothing = 0.2
	gradientQueue     = 4
	gradientLongSpan  = 600
	gradientWarmup    = 10 // windows averaged plainly before the exponential average starts
)

func newGradient(initial, minLimit, maxLimit int) *gradient {
	return &gradient{
		limit: float64(initial), min: float64(minLimit), max: float64(maxLimit),
		tolerance: gradientTolerance, smoothing: gradientSmoothing, queueSize: gradientQueue,
		longSpan: gradientLongSpan,
	}
}

// update folds in one window whose mean latency was short and whose
// requests in flight peaked at maxInFlight, and returns the new limit.
func (g *gradient) update(short time.Duration, maxInFlight int) int {
	s := float64(max(short, 1))
	g.addLong(s)
	if g.long/s > 2 {
		// Latency came back down after a long overload: let the long RTT
		// follow quickly instead of over hundreds of windows.
		g.long *= 0.95
	}
	if float64(maxInFlight) < g.limit/2 {
		// Application-limited: the limit was not what bounded latency.
		return g.current()
	}
	grad := min(1.0, max(0.5, g.tolerance*g.long/s))
	next := g.limit*grad + g.queueSize
	next = g.limit*(1-g.smoothing) + next*g.smoothing
	g.limit = min(g.max, max(g.min, next))
	return g.current()
}

func (g *gradient) addLong(s float64) {
	g.longN++
	if g.longN <= gradientWarmup {
		g.long += (s - g.long) / float64(g.longN)
		return
	}
	f := 2 / float64(g.longSpan+1)
	g.long = g.long*(1-f) + s*f
}

func (g *gradient) current() int { return int(g.limit) }
