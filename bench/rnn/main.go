// Command rnn benchmarks tfserve's fused GRU and LSTM kernels (kernels/rnn)
// and SGEMM (kernels/gemm) and writes the timings as JSON; run.sh compares
// them with torch.nn.GRU, torch.nn.LSTM and numpy/OpenBLAS measured in the
// same run.
//
// Modes:
//
//	rnn -out go.json            GRU, LSTM and SGEMM on the calling thread
//	rnn -check check.json       small random GRU and LSTM cases (weights,
//	                            inputs, our outputs) for torch_rnn.py check
//	rnn -cores 1,2 -out m.json  many-row calls through rnn.Pool.Forward (the
//	                            row split the server uses) with GOMAXPROCS
//	                            switched between the listed values,
//	                            alternating repetitions
//
// Single-core times are per call, best of several repetitions, both
// wall-clock and the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
// which is not inflated by other processes on a shared machine. Multi-core
// times are wall-clock (the work is spread over threads), with the
// process's CPU time beside them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tfserve/tfserve/kernels/gemm"
	"github.com/tfserve/tfserve/kernels/rnn"
)

// Case is one benchmark configuration and its measured times.
type Case struct {
	Batch, Input, Units, Steps int
	Flops                      float64 // 2*B*T*(I+U)*gates*U
	WallSec, CPUSec            float64 // per call, best repetition
}

// CoreCase is one many-row call measured with GOMAXPROCS = Procs.
type CoreCase struct {
	Layer                      string
	Batch, Input, Units, Steps int
	Procs, Parts               int
	Flops                      float64
	WallSec                    float64 // per call, best repetition
	CPUSec                     float64 // process CPU time per call in that repetition
	Affinity                   int     // CPUs in the process's affinity mask
	// Foreign is the CPU time other processes (and the hypervisor's steal)
	// used during this setting's repetitions, in CPUs (0.5: half a core
	// busy on average), from /proc/stat; -1 if unknown.
	Foreign float64
	// PartCPUSec is the thread CPU time of the slowest part when the
	// call's parts run at once, each on its own locked OS thread (the whole
	// call's for one part), best repetition: the wall time the call would
	// take with its cores to itself, whatever else the machine runs.
	PartCPUSec float64
}

// Result is the JSON document written by the program.
type Result struct {
	GOMAXPROCS int
	Asm        bool
	GRU        []Case
	LSTM       []Case
	SGEMM      []Case // Batch=m, Units=n, Input=k
	Cores      []CoreCase
}

func threadCPU() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

func processCPU() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

// rep runs f for at least minTime and returns the per-call wall, thread CPU
// and process CPU times.
func rep(f func() error, minTime float64) (wall, cpu, pcpu float64, err error) {
	n := 0
	t0, c0, p0 := time.Now(), threadCPU(), processCPU()
	for {
		if err := f(); err != nil {
			return 0, 0, 0, err
		}
		n++
		if time.Since(t0).Seconds() >= minTime {
			break
		}
	}
	return time.Since(t0).Seconds() / float64(n), (threadCPU() - c0) / float64(n), (processCPU() - p0) / float64(n), nil
}

// measure runs f repeatedly for at least minTime per repetition and returns
// the best per-call wall and CPU times over reps repetitions.
func measure(f func() error, minTime float64, reps int) (wall, cpu float64, err error) {
	if err := f(); err != nil { // warm up, grow workspaces
		return 0, 0, err
	}
	wall, cpu = 1e300, 1e300
	for r := 0; r < reps; r++ {
		w, c, _, err := rep(f, minTime)
		if err != nil {
			return 0, 0, err
		}
		wall, cpu = min(wall, w), min(cpu, c)
	}
	return wall, cpu, nil
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64() * scale)
	}
	return s
}

func newGRU(r *rand.Rand, in, units int) (*rnn.GRU, rnn.GRUParams, error) {
	p := rnn.GRUParams{
		Input: in, Units: units,
		Kernel:          randSlice(r, in*3*units, 0.3),
		RecurrentKernel: randSlice(r, units*3*units, 0.3),
		Bias:            randSlice(r, 6*units, 0.1),
		ResetAfter:      true, Activation: rnn.Tanh, RecurrentActivation: rnn.Sigmoid,
	}
	g, err := rnn.NewGRU(p)
	return g, p, err
}

func newLSTM(r *rand.Rand, in, units int) (*rnn.LSTM, rnn.LSTMParams, error) {
	p := rnn.LSTMParams{
		Input: in, Units: units,
		Kernel:          randSlice(r, in*4*units, 0.3),
		RecurrentKernel: randSlice(r, units*4*units, 0.3),
		Bias:            randSlice(r, 4*units, 0.1),
		Activation:      rnn.Tanh, RecurrentActivation: rnn.Sigmoid,
	}
	l, err := rnn.NewLSTM(p)
	return l, p, err
}

// newLayer builds a random layer of the named kind and returns it with its
// number of gates.
func newLayer(r *rand.Rand, kind string, in, units int) (rnn.Layer, int, error) {
	if kind == "LSTM" {
		l, _, err := newLSTM(r, in, units)
		return l, 4, err
	}
	g, _, err := newGRU(r, in, units)
	return g, 3, err
}

// benchLayer times kind over the 32 shapes of the torch comparison on the
// calling thread.
func benchLayer(kind string, minTime float64, reps int) ([]Case, error) {
	r := rand.New(rand.NewPCG(1, 2))
	var out []Case
	var ws rnn.Workspace
	for _, b := range []int{1, 8, 64, 256} {
		for _, in := range []int{64, 128} {
			for _, u := range []int{128, 256} {
				for _, t := range []int{20, 50} {
					l, gates, err := newLayer(r, kind, in, u)
					if err != nil {
						return nil, err
					}
					a := &rnn.Args{X: randSlice(r, b*t*in, 1), Batch: b, Steps: t, ReturnSequences: true,
						Out: make([]float32, b*t*u), H: make([]float32, b*u)}
					if gates == 4 {
						a.C = make([]float32, b*u)
					}
					wall, cpu, err := measure(func() error { return l.Forward(&ws, a) }, minTime, reps)
					if err != nil {
						return nil, err
					}
					c := Case{Batch: b, Input: in, Units: u, Steps: t,
						Flops: 2 * float64(b*t*(in+u)*gates*u), WallSec: wall, CPUSec: cpu}
					slog.Info(strings.ToLower(kind), "B", b, "I", in, "U", u, "T", t, "GFLOP/s", c.Flops/cpu/1e9)
					out = append(out, c)
				}
			}
		}
	}
	return out, nil
}

func benchSGEMM(minTime float64, reps int) ([]Case, error) {
	r := rand.New(rand.NewPCG(3, 4))
	var out []Case
	var ws gemm.Workspace
	for _, s := range [][3]int{{1024, 1024, 1024}, {512, 512, 512}, {64, 768, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, b, c := randSlice(r, m*k, 1), randSlice(r, k*n, 1), make([]float32, m*n)
		wall, cpu, err := measure(func() error { return ws.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }, minTime, reps)
		if err != nil {
			return nil, err
		}
		cs := Case{Batch: m, Units: n, Input: k, Flops: 2 * float64(m*n*k), WallSec: wall, CPUSec: cpu}
		slog.Info("sgemm", "m", m, "n", n, "k", k, "GFLOP/s", cs.Flops/cpu/1e9)
		out = append(out, cs)
	}
	return out, nil
}

// busyCPU returns the machine's non-idle CPU time in seconds (user, nice,
// system, irq, softirq and steal from /proc/stat), or -1.
func busyCPU() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system _ _ irq softirq steal
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return -1
		}
		busy += v
	}
	return busy / 100 // USER_HZ
}

func affinity() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	return set.Count()
}

// coreWork is one workload of the multi-core comparison: f does the work
// with up to procs goroutines; each(i, n) does part i of n.
type coreWork struct {
	c     CoreCase // shape and Flops
	parts func(procs int) int
	f     func(procs int) error
	each  func(i, n int) error
}

// partsCPU runs the n parts of w at once, each on a goroutine locked to its
// OS thread, and returns the largest part's thread CPU time.
func partsCPU(w coreWork, n int) (float64, error) {
	cpu, errs := make([]float64, n), make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			errs[i] = w.each(i, n)
			cpu[i] = threadCPU() - c0
		}()
	}
	wg.Wait()
	return slices.Max(cpu), errors.Join(errs...)
}

// sgemmPair is the ceiling of any split: two independent 512×512×512
// SGEMMs on their own buffers and workspaces, one after the other on one
// core or at the same time on two. Its speedup is what two cores of this
// machine give to work that shares nothing.
func sgemmPair(r *rand.Rand) coreWork {
	const n = 512
	type job struct {
		ws      gemm.Workspace
		a, b, c []float32
	}
	jobs := [2]*job{}
	for i := range jobs {
		jobs[i] = &job{a: randSlice(r, n*n, 1), b: randSlice(r, n*n, 1), c: make([]float32, n*n)}
	}
	run := func(j *job) error { return j.ws.Sgemm(false, false, n, n, n, 1, j.a, n, j.b, n, 0, j.c, n) }
	return coreWork{
		c:     CoreCase{Layer: "SGEMM 512³ ×2", Batch: n, Input: n, Units: n, Steps: 2, Flops: 2 * 2 * n * n * n},
		parts: func(procs int) int { return min(procs, 2) },
		f: func(procs int) error {
			if procs < 2 {
				if err := run(jobs[0]); err != nil {
					return err
				}
				return run(jobs[1])
			}
			errc := make(chan error, 1)
			go func() { errc <- run(jobs[1]) }()
			err := run(jobs[0])
			return errors.Join(err, <-errc)
		},
		each: func(i, n int) error {
			if n == 1 {
				if err := run(jobs[0]); err != nil {
					return err
				}
				return run(jobs[1])
			}
			return run(jobs[i])
		},
	}
}

// benchCores times many-row calls through rnn.Pool.Forward, the row split
// graph/fuse uses, with GOMAXPROCS set to each of procs in turn; the
// settings alternate within every repetition so that they see the same
// machine load.
func benchCores(procs []int, minTime float64, reps int) ([]CoreCase, error) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	r := rand.New(rand.NewPCG(7, 8))
	var pool rnn.Pool
	works := []coreWork{sgemmPair(r)}
	for _, kind := range []string{"GRU", "LSTM"} {
		for _, b := range []int{64, 128, 256} {
			for _, u := range []int{128, 256} {
				in, t := 128, 50
				l, gates, err := newLayer(r, kind, in, u)
				if err != nil {
					return nil, err
				}
				a := &rnn.Args{X: randSlice(r, b*t*in, 1), Batch: b, Steps: t, ReturnSequences: true,
					Out: make([]float32, b*t*u), H: make([]float32, b*u)}
				if gates == 4 {
					a.C = make([]float32, b*u)
				}
				works = append(works, coreWork{
					c:     CoreCase{Layer: kind, Batch: b, Input: in, Units: u, Steps: t, Flops: 2 * float64(b*t*(in+u)*gates*u)},
					parts: func(procs int) int { return rnn.Parts(l, b, t, procs) },
					f:     func(procs int) error { return pool.Forward(l, a, procs) },
					each: func(i, n int) error {
						ws := pool.Get()
						defer pool.Put(ws)
						return l.Forward(ws, a.Rows(i*b/n, (i+1)*b/n, in, u))
					},
				})
			}
		}
	}
	var out []CoreCase
	for _, w := range works {
		cases := make([]CoreCase, len(procs))
		for i, p := range procs {
			cases[i] = w.c
			cases[i].Procs, cases[i].Parts, cases[i].WallSec, cases[i].Affinity = p, w.parts(p), 1e300, affinity()
		}
		foreign := make([][3]float64, len(procs)) // machine busy, our CPU, wall
		for rp := -1; rp < reps; rp++ {           // rp -1 warms up every setting
			for i, p := range procs {
				runtime.GOMAXPROCS(p)
				f := func() error { return w.f(runtime.GOMAXPROCS(0)) }
				mt := minTime
				if rp < 0 {
					mt = 0
				}
				b0, p0, t0 := busyCPU(), processCPU(), time.Now()
				wall, _, pcpu, err := rep(f, mt)
				if err != nil {
					return nil, err
				}
				if b1 := busyCPU(); b0 < 0 || b1 < 0 {
					foreign[i][0] = math.Inf(-1) // unknown
				} else if rp >= 0 {
					foreign[i][0] += b1 - b0
					foreign[i][1] += processCPU() - p0
					foreign[i][2] += time.Since(t0).Seconds()
				}
				if rp >= 0 && wall < cases[i].WallSec {
					cases[i].WallSec, cases[i].CPUSec = wall, pcpu
				}
			}
		}
		// Per-part thread CPU times, the settings alternating again.
		for i := range cases {
			cases[i].PartCPUSec = 1e300
		}
		for rp := 0; rp < reps; rp++ {
			for i, p := range procs {
				runtime.GOMAXPROCS(p)
				n := w.parts(p)
				for t0 := time.Now(); ; {
					c, err := partsCPU(w, n)
					if err != nil {
						return nil, err
					}
					cases[i].PartCPUSec = min(cases[i].PartCPUSec, c)
					if time.Since(t0).Seconds() >= minTime/2 {
						break
					}
				}
			}
		}
		for i := range cases {
			cases[i].Foreign = -1
			if fo := foreign[i]; fo[0] >= 0 && fo[2] > 0 {
				cases[i].Foreign = max(0, (fo[0]-fo[1])/fo[2])
			}
		}
		for _, c := range cases {
			slog.Info("cores", "layer", c.Layer, "B", c.Batch, "U", c.Units, "procs", c.Procs, "parts", c.Parts,
				"ms", c.WallSec*1e3, "speedup", cases[0].WallSec/c.WallSec, "foreign", c.Foreign,
				"cpu speedup", cases[0].PartCPUSec/c.PartCPUSec)
		}
		out = append(out, cases...)
	}
	return out, nil
}

// checkCase is one cross-check document for torch_rnn.py.
type checkCase struct {
	Layer                      string // "GRU" or "LSTM"
	Input, Units, Batch, Steps int
	GoBackwards                bool
	Kernel, RecurrentKernel    []float32
	Bias                       []float32 // GRU [2, 3U]; LSTM [4U]
	X, H0, C0                  []float32
	Out, H, C                  []float32 // return_sequences output [B,T,U], final h (and c) [B,U]
}

func writeCheck(path string) error {
	r := rand.New(rand.NewPCG(5, 6))
	var cases []checkCase
	for _, kind := range []string{"GRU", "LSTM"} {
		// A small odd shape (vector tails) and one of the benchmark's.
		for _, sh := range [][4]int{{7, 19, 3, 6}, {64, 128, 8, 20}} {
			for _, back := range []bool{false, true} {
				in, u, b, t := sh[0], sh[1], sh[2], sh[3]
				c := checkCase{Layer: kind, Input: in, Units: u, Batch: b, Steps: t, GoBackwards: back,
					X: randSlice(r, b*t*in, 1), H0: randSlice(r, b*u, 0.5),
					Out: make([]float32, b*t*u), H: make([]float32, b*u)}
				a := &rnn.Args{X: c.X, Batch: b, Steps: t, H0: c.H0, ReturnSequences: true, Out: c.Out, H: c.H}
				var l rnn.Layer
				if kind == "GRU" {
					_, p, err := newGRU(r, in, u)
					if err != nil {
						return err
					}
					p.GoBackwards = back
					if l, err = rnn.NewGRU(p); err != nil {
						return err
					}
					c.Kernel, c.RecurrentKernel, c.Bias = p.Kernel, p.RecurrentKernel, p.Bias
				} else {
					_, p, err := newLSTM(r, in, u)
					if err != nil {
						return err
					}
					p.GoBackwards = back
					if l, err = rnn.NewLSTM(p); err != nil {
						return err
					}
					c.Kernel, c.RecurrentKernel, c.Bias = p.Kernel, p.RecurrentKernel, p.Bias
					c.C0, c.C = randSlice(r, b*u, 0.5), make([]float32, b*u)
					a.C0, a.C = c.C0, c.C
				}
				if err := l.Forward(nil, a); err != nil {
					return err
				}
				cases = append(cases, c)
			}
		}
	}
	data, err := json.Marshal(cases)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("bad core count %q (want 1..1024)", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	out := flag.String("out", "go.json", "where to write the timings")
	check := flag.String("check", "", "write torch cross-check cases to this file and exit")
	cores := flag.String("cores", "", "comma-separated GOMAXPROCS values: time the row split instead")
	minTime := flag.Float64("mintime", 0.15, "seconds per repetition")
	reps := flag.Int("reps", 3, "repetitions (best is kept)")
	flag.Parse()
	if *check != "" {
		return writeCheck(*check)
	}
	res := Result{GOMAXPROCS: runtime.GOMAXPROCS(0), Asm: gemm.Accelerated() && rnn.Accelerated()}
	var err error
	if *cores != "" {
		procs, err := parseInts(*cores)
		if err != nil {
			return err
		}
		if res.Cores, err = benchCores(procs, *minTime, *reps); err != nil {
			return fmt.Errorf("cores: %w", err)
		}
	} else {
		runtime.LockOSThread()
		if res.SGEMM, err = benchSGEMM(*minTime, *reps); err != nil {
			return fmt.Errorf("sgemm: %w", err)
		}
		if res.GRU, err = benchLayer("GRU", *minTime, *reps); err != nil {
			return fmt.Errorf("gru: %w", err)
		}
		if res.LSTM, err = benchLayer("LSTM", *minTime, *reps); err != nil {
			return fmt.Errorf("lstm: %w", err)
		}
	}
	data, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return err
	}
	fmt.Println("wrote", *out)
	return nil
}

func main() {
	if err := run(); err != nil {
		slog.Error("rnn bench", "err", err)
		os.Exit(1)
	}
}
