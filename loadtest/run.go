package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Config describes one load run.
type Config struct {
	// Concurrency is the number of closed-loop workers (default 1).
	Concurrency int
	// Rate is the open-loop request rate in requests per second.
	Rate float64
	// Duration is the length of the measured phase. Zero means "until
	// MaxRequests", which must then be set.
	Duration time.Duration
	// Warmup runs the same load for this long before the measured phase and
	// discards its results. In closed loop every worker sends at least one
	// warm-up request.
	Warmup time.Duration
	// MaxRequests stops the measured phase after this many requests (0: no
	// bound).
	MaxRequests int64
	// MaxInFlight bounds concurrent open-loop requests (0: unbounded). When
	// the bound is hit, requests start late and their latency, measured from
	// the scheduled time, shows it.
	MaxInFlight int
	// Progress, when not nil, receives a progress line every ProgressInterval
	// (default 1s) and a last one when a phase ends.
	Progress         io.Writer
	ProgressInterval time.Duration
}

// Result is the outcome of one measured phase.
type Result struct {
	// Mode is "closed" or "open".
	Mode string `json:"mode"`
	// Concurrency is the closed-loop worker count.
	Concurrency int `json:"concurrency,omitempty"`
	// TargetRateRPS is the open-loop rate asked for.
	TargetRateRPS float64 `json:"target_rate_rps,omitempty"`
	// Scheduled is, in open loop, the number of requests the schedule
	// called for; fewer Requests means the load generator fell behind.
	Scheduled int64 `json:"scheduled,omitempty"`
	// Requests counts completed requests, failed ones included.
	Requests  int64 `json:"requests"`
	Successes int64 `json:"successes"`
	// DurationS is the measured wall time: from the phase start to the last
	// completion.
	DurationS float64 `json:"duration_s"`
	// ThroughputRPS is Requests / DurationS; SuccessRPS counts only 2xx.
	ThroughputRPS float64 `json:"throughput_rps"`
	SuccessRPS    float64 `json:"success_rps"`
	// LatencyMS holds percentiles over all completed requests, in ms.
	LatencyMS Latency `json:"latency_ms"`
	// SuccessLatencyMS holds the same percentiles over 2xx answers only:
	// under overload, the latency of what was accepted, apart from fast
	// refusals (absent when nothing succeeded).
	SuccessLatencyMS *Latency `json:"success_latency_ms,omitempty"`
	// ServiceLatencyMS is, in open loop on event loops, the 2xx answers'
	// latency counted from when each request was actually written rather
	// than scheduled: what the server and network took, without the time
	// a due request waited for a free connection under MaxInFlight.
	ServiceLatencyMS *Latency `json:"service_latency_ms,omitempty"`
	// Errors maps a non-2xx status ("503") or a transport error ("timeout",
	// "connection refused") to its count.
	Errors map[string]int64 `json:"errors"`
	// StatusCodes maps every status received, 2xx included, to its count.
	StatusCodes map[string]int64 `json:"status_codes"`

	hist *hdrhistogram.Histogram
}

// Latency holds latency statistics in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Histogram returns the latency histogram in microseconds.
func (r *Result) Histogram() *hdrhistogram.Histogram { return r.hist }

// Latencies are recorded in microseconds from 1 µs to one hour with three
// significant digits.
const maxLatencyUS = int64(time.Hour / time.Microsecond)

type recorder struct {
	hist      *hdrhistogram.Histogram
	okHist    *hdrhistogram.Histogram // 2xx answers only
	service   *hdrhistogram.Histogram // 2xx answers from the actual send (open loop, event loops)
	statuses  map[string]int64
	errors    map[string]int64
	requests  int64
	successes int64
	live      *liveCounts
}

type liveCounts struct {
	done atomic.Int64
	errs atomic.Int64
}

func newRecorder(live *liveCounts) *recorder {
	return &recorder{
		hist:     hdrhistogram.New(1, maxLatencyUS, 3),
		okHist:   hdrhistogram.New(1, maxLatencyUS, 3),
		service:  hdrhistogram.New(1, maxLatencyUS, 3),
		statuses: map[string]int64{},
		errors:   map[string]int64{},
		live:     live,
	}
}

// add records one completed request. status is the protocol status; a
// non-empty transportErr means no answer came back.
func (r *recorder) add(lat time.Duration, status, transportErr string) {
	_ = r.hist.RecordValue(micros(lat)) // in range by construction
	r.requests++
	ok := false
	switch {
	case transportErr != "" || status == "":
		r.errors[ErrorKey(transportErr)]++
	default:
		r.statuses[status]++
		if len(status) == 3 && status[0] == '2' {
			ok = true
			r.successes++
			_ = r.okHist.RecordValue(micros(lat))
		} else {
			r.errors[status]++
		}
	}
	if r.live != nil {
		r.live.done.Add(1)
		if !ok {
			r.live.errs.Add(1)
		}
	}
}

// addService records a 2xx answer's latency from its actual send.
func (r *recorder) addService(d time.Duration) {
	_ = r.service.RecordValue(micros(d))
}

// micros is d in whole microseconds, clamped to the histograms' range.
func micros(d time.Duration) int64 {
	return max(1, min(d.Microseconds(), maxLatencyUS))
}

func (c Config) progressInterval() time.Duration {
	if c.ProgressInterval > 0 {
		return c.ProgressInterval
	}
	return time.Second
}

func (c Config) bounded() error {
	if c.Duration < 0 || c.Warmup < 0 || c.MaxRequests < 0 {
		return errors.New("duration, warmup and request count must not be negative")
	}
	if c.Duration == 0 && c.MaxRequests == 0 {
		return errors.New("set a duration or a request count")
	}
	return nil
}

// RunClosed runs cfg.Concurrency workers that each send requests back to
// back, first for cfg.Warmup (discarded), then for the measured phase.
func RunClosed(ctx context.Context, t Target, cfg Config) (*Result, error) {
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("closed loop: concurrency %d must be positive", cfg.Concurrency)
	}
	if err := cfg.bounded(); err != nil {
		return nil, fmt.Errorf("closed loop: %w", err)
	}
	label := fmt.Sprintf("c=%d", cfg.Concurrency)
	if cfg.Warmup > 0 {
		closedPhase(ctx, t, cfg, label+" warmup", cfg.Warmup, 0, true)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("closed loop: %w", err)
	}
	recs, elapsed := closedPhase(ctx, t, cfg, label, cfg.Duration, cfg.MaxRequests, false)
	res := summarize(recs, elapsed)
	res.Mode = "closed"
	res.Concurrency = cfg.Concurrency
	return res, nil
}

func closedPhase(ctx context.Context, t Target, cfg Config, label string, du time.Duration, maxReq int64, atLeastOne bool) ([]*recorder, time.Duration) {
	live := &liveCounts{}
	recs := make([]*recorder, cfg.Concurrency)
	var claimed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(du)
	stopProgress := startProgress(cfg, label, live, start)
	if ht, ok := t.(*HTTPTarget); ok && ht.useEventLoops() {
		recs, elapsed, err := loopClosedPhase(ctx, ht, cfg, live, start, du, maxReq, atLeastOne)
		if err == nil {
			stopProgress()
			return recs, elapsed
		}
		slog.Warn("loadtest: event loops unavailable, using a goroutine per connection", "err", err)
	}
	for w := range recs {
		rec := newRecorder(live)
		recs[w] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if ctx.Err() != nil {
					return
				}
				if du > 0 && !(atLeastOne && i == 0) && !time.Now().Before(deadline) {
					return
				}
				if maxReq > 0 && claimed.Add(1) > maxReq {
					return
				}
				t0 := time.Now()
				status, err := t.Do(ctx)
				lat := time.Since(t0)
				if err != nil {
					rec.add(lat, "", errText(err))
				} else {
					rec.add(lat, status, "")
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	return recs, elapsed
}

func errText(err error) string {
	if s := err.Error(); s != "" {
		return s
	}
	return "unknown error"
}

// RunOpen starts requests at cfg.Rate per second, first for cfg.Warmup
// (discarded), then for the measured phase. Latency is measured from each
// request's scheduled start, not its actual start.
func RunOpen(ctx context.Context, t Target, cfg Config) (*Result, error) {
	if !(cfg.Rate >= 0.001) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("open loop: rate %v must be at least 0.001 requests/s", cfg.Rate)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("open loop: max in flight %d must not be negative", cfg.MaxInFlight)
	}
	if err := cfg.bounded(); err != nil {
		return nil, fmt.Errorf("open loop: %w", err)
	}
	label := fmt.Sprintf("rate=%g/s", cfg.Rate)
	if cfg.Warmup > 0 {
		openPhase(ctx, t, cfg, label+" warmup", cfg.Warmup, 0)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open loop: %w", err)
	}
	rec, elapsed := openPhase(ctx, t, cfg, label, cfg.Duration, cfg.MaxRequests)
	res := summarize([]*recorder{rec}, elapsed)
	res.Mode = "open"
	res.TargetRateRPS = cfg.Rate
	res.Scheduled = scheduled(pacerFor(cfg.Rate), cfg.Duration, cfg.MaxRequests)
	return res, nil
}

// pacerFor expresses rate as a vegeta ConstantPacer with millihertz
// resolution, so fractional rates work.
func pacerFor(rate float64) vegeta.ConstantPacer {
	return vegeta.ConstantPacer{Freq: max(1, int(math.Round(rate*1000))), Per: 1000 * time.Second}
}

// interval is the pacer's spacing between hits, computed as vegeta does:
// hit k (from 0) is due at (k+1)*interval after the attack began.
func interval(cp vegeta.ConstantPacer) time.Duration {
	return time.Duration(cp.Per.Nanoseconds() / int64(cp.Freq))
}

// scheduled is the number of hits due within du (hit k is due at
// (k+1)*interval; the attack stops once du has passed), capped by maxReq.
func scheduled(cp vegeta.ConstantPacer, du time.Duration, maxReq int64) int64 {
	if du <= 0 {
		return maxReq
	}
	n := int64(du / interval(cp))
	if maxReq > 0 && maxReq < n {
		n = maxReq
	}
	return n
}

// schedPacer wraps a ConstantPacer: it records when the attack began (from
// the first Pace call) and stops after max hits.
type schedPacer struct {
	vegeta.ConstantPacer
	max   uint64
	once  sync.Once
	start atomic.Pointer[time.Time]
}

func (p *schedPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	p.once.Do(func() {
		b := time.Now().Add(-elapsed)
		p.start.Store(&b)
	})
	if p.max > 0 && hits >= p.max {
		return 0, true
	}
	return p.ConstantPacer.Pace(elapsed, hits)
}

type sample struct {
	lat          time.Duration
	end          time.Time
	status, terr string
}

func openPhase(ctx context.Context, t Target, cfg Config, label string, du time.Duration, maxReq int64) (*recorder, time.Duration) {
	live := &liveCounts{}
	rec := newRecorder(live)
	cp := pacerFor(cfg.Rate)
	step := interval(cp)
	start := time.Now()
	stopProgress := startProgress(cfg, label, live, start)
	if ht, ok := t.(*HTTPTarget); ok && ht.useEventLoops() {
		rec, elapsed, err := loopOpenPhase(ctx, ht, cfg, live, step, du, scheduled(cp, du, maxReq))
		if err == nil {
			stopProgress()
			return rec, elapsed
		}
		slog.Warn("loadtest: event loops unavailable, using vegeta's attacker", "err", err)
	}
	var samples <-chan sample
	var began func() time.Time
	if vt, ok := t.(vegetaTarget); ok {
		samples, began = vegetaAttack(ctx, vt, cp, step, cfg, du, maxReq)
	} else {
		samples, began = pacedAttack(ctx, t, cp, step, cfg, du, maxReq)
	}
	var last time.Time
	for s := range samples {
		rec.add(s.lat, s.status, s.terr)
		if s.end.After(last) {
			last = s.end
		}
	}
	var elapsed time.Duration
	if b := began(); !last.IsZero() && !b.IsZero() {
		elapsed = last.Sub(b)
	}
	stopProgress()
	return rec, elapsed
}

func vegetaAttack(ctx context.Context, vt vegetaTarget, cp vegeta.ConstantPacer, step time.Duration, cfg Config, du time.Duration, maxReq int64) (<-chan sample, func() time.Time) {
	pacer := &schedPacer{ConstantPacer: cp, max: uint64(maxReq)}
	opts := []func(*vegeta.Attacker){vegeta.Client(vt.vegetaClient()), vegeta.MaxBody(0)}
	if cfg.MaxInFlight > 0 {
		opts = append(opts, vegeta.Workers(uint64(min(cfg.MaxInFlight, int(vegeta.DefaultWorkers)))), vegeta.MaxWorkers(uint64(cfg.MaxInFlight)))
	}
	atk := vegeta.NewAttacker(opts...)
	results := atk.Attack(vt.vegetaTargeter(), pacer, du, "")
	out := make(chan sample, 256)
	began := func() time.Time {
		if p := pacer.start.Load(); p != nil {
			return *p
		}
		return time.Time{}
	}
	go func() {
		defer close(out)
		stop := context.AfterFunc(ctx, func() { atk.Stop() })
		defer stop()
		for r := range results {
			end := r.End()
			lat := r.Latency
			if b := began(); !b.IsZero() {
				if fromSched := end.Sub(b.Add(time.Duration(r.Seq+1) * step)); fromSched > lat {
					lat = fromSched
				}
			}
			s := sample{lat: lat, end: end}
			if r.Code == 0 {
				s.terr = r.Error
				if s.terr == "" {
					s.terr = "no response"
				}
			} else {
				s.status = fmt.Sprint(r.Code)
			}
			out <- s
		}
	}()
	return out, began
}

func pacedAttack(ctx context.Context, t Target, cp vegeta.ConstantPacer, step time.Duration, cfg Config, du time.Duration, maxReq int64) (<-chan sample, func() time.Time) {
	out := make(chan sample, 256)
	var sem chan struct{}
	if cfg.MaxInFlight > 0 {
		sem = make(chan struct{}, cfg.MaxInFlight)
	}
	began := time.Now()
	go func() {
		var wg sync.WaitGroup
		defer func() {
			wg.Wait()
			close(out)
		}()
		timer := time.NewTimer(0)
		defer timer.Stop()
		for hits := uint64(0); ; hits++ {
			elapsed := time.Since(began)
			if ctx.Err() != nil || (du > 0 && elapsed > du) || (maxReq > 0 && hits >= uint64(maxReq)) {
				return
			}
			wait, stop := cp.Pace(elapsed, hits)
			if stop {
				return
			}
			if wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
			if sem != nil {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
			due := began.Add(time.Duration(hits+1) * step)
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, err := t.Do(ctx)
				end := time.Now()
				if sem != nil {
					<-sem
				}
				s := sample{lat: end.Sub(due), end: end, status: status}
				if err != nil {
					s.status, s.terr = "", errText(err)
				}
				out <- s
			}()
		}
	}()
	return out, func() time.Time { return began }
}

func summarize(recs []*recorder, elapsed time.Duration) *Result {
	res := &Result{
		Errors:      map[string]int64{},
		StatusCodes: map[string]int64{},
		hist:        hdrhistogram.New(1, maxLatencyUS, 3),
		DurationS:   elapsed.Seconds(),
	}
	ok := hdrhistogram.New(1, maxLatencyUS, 3)
	service := hdrhistogram.New(1, maxLatencyUS, 3)
	for _, r := range recs {
		res.hist.Merge(r.hist)
		ok.Merge(r.okHist)
		service.Merge(r.service)
		res.Requests += r.requests
		res.Successes += r.successes
		for k, v := range r.errors {
			res.Errors[k] += v
		}
		for k, v := range r.statuses {
			res.StatusCodes[k] += v
		}
	}
	if res.DurationS > 0 {
		res.ThroughputRPS = float64(res.Requests) / res.DurationS
		res.SuccessRPS = float64(res.Successes) / res.DurationS
	}
	if res.Requests > 0 {
		res.LatencyMS = latencyOf(res.hist)
	}
	if ok.TotalCount() > 0 {
		l := latencyOf(ok)
		res.SuccessLatencyMS = &l
	}
	if service.TotalCount() > 0 {
		l := latencyOf(service)
		res.ServiceLatencyMS = &l
	}
	return res
}

// latencyOf summarizes a histogram of microseconds in milliseconds.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Min:  ms(h.Min()),
		Mean: h.Mean() / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

// startProgress prints a progress line every interval until the returned
// function is called, which prints a last line. On a terminal the line is
// rewritten in place.
func startProgress(cfg Config, label string, live *liveCounts, start time.Time) func() {
	w := cfg.Progress
	if w == nil {
		return func() {}
	}
	tty := isTerminal(w)
	var mu sync.Mutex
	prev, prevAt := int64(0), start
	line := func(final bool) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		done := live.done.Load()
		rps := 0.0
		if dt := now.Sub(prevAt).Seconds(); dt > 0 {
			rps = float64(done-prev) / dt
		}
		if final {
			if s := now.Sub(start).Seconds(); s > 0 {
				rps = float64(done) / s
			}
		}
		prev, prevAt = done, now
		text := fmt.Sprintf("%s %6.1fs requests=%d rps=%.0f errors=%d", label, now.Sub(start).Seconds(), done, rps, live.errs.Load())
		if final {
			text += " done"
		}
		switch {
		case tty && final:
			fmt.Fprintf(w, "\r\033[K%s\n", text)
		case tty:
			fmt.Fprintf(w, "\r\033[K%s", text)
		default:
			fmt.Fprintln(w, text)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(cfg.progressInterval())
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				line(false)
			case <-stop:
				return
			}
		}
	}()
	return func() {
		close(stop)
		wg.Wait()
		line(true)
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && !strings.EqualFold(os.Getenv("TERM"), "dumb")
}

// SweepConcurrency runs RunClosed once per concurrency level.
func SweepConcurrency(ctx context.Context, t Target, levels []int, cfg Config) ([]*Result, error) {
	if len(levels) == 0 {
		return nil, errors.New("sweep: no concurrency levels")
	}
	out := make([]*Result, 0, len(levels))
	for _, c := range levels {
		if c <= 0 {
			return out, fmt.Errorf("sweep: concurrency %d must be positive", c)
		}
		cfg.Concurrency = c
		r, err := RunClosed(ctx, t, cfg)
		if err != nil {
			return out, fmt.Errorf("sweep at concurrency %d: %w", c, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// SweepRate runs RunOpen once per rate.
func SweepRate(ctx context.Context, t Target, rates []float64, cfg Config) ([]*Result, error) {
	if len(rates) == 0 {
		return nil, errors.New("sweep: no rates")
	}
	out := make([]*Result, 0, len(rates))
	for _, r := range rates {
		cfg.Rate = r
		res, err := RunOpen(ctx, t, cfg)
		if err != nil {
			return out, fmt.Errorf("sweep at rate %g: %w", r, err)
		}
		out = append(out, res)
	}
	return out, nil
}
