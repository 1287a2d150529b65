// Command gru benchmarks tfserve's fused GRU kernel (kernels/rnn) and SGEMM
// (kernels/gemm) on one core and writes the timings as JSON; run.sh
// compares them with torch.nn.GRU and numpy/OpenBLAS measured in the same
// run. With -check it instead writes a small random GRU case (weights,
// inputs, our outputs) for torch_gru.py to cross-check.
//
// Times are per call, best of several repetitions, both wall-clock and the
// calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which is not inflated
// by other processes on a shared machine.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tfserve/tfserve/kernels/gemm"
	"github.com/tfserve/tfserve/kernels/rnn"
)

// Case is one benchmark configuration and its measured times.
type Case struct {
	Batch, Input, Units, Steps int
	Flops                      float64 // 2*B*T*(I+U)*3U
	WallSec, CPUSec            float64 // per call, best repetition
}

// Result is the JSON document written by the program.
type Result struct {
	GOMAXPROCS int
	Asm        bool
	GRU        []Case
	SGEMM      []Case // Batch=m, Units=n, Input=k
}

func threadCPU() float64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

// measure runs f repeatedly for at least minTime per repetition and returns
// the best per-call wall and CPU times over reps repetitions.
func measure(f func() error, minTime float64, reps int) (wall, cpu float64, err error) {
	if err := f(); err != nil { // warm up, grow workspaces
		return 0, 0, err
	}
	wall, cpu = 1e300, 1e300
	for r := 0; r < reps; r++ {
		n := 0
		t0, c0 := time.Now(), threadCPU()
		for {
			if err := f(); err != nil {
				return 0, 0, err
			}
			n++
			if time.Since(t0).Seconds() >= minTime {
				break
			}
		}
		wall = min(wall, time.Since(t0).Seconds()/float64(n))
		cpu = min(cpu, (threadCPU()-c0)/float64(n))
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

func benchGRU(minTime float64, reps int) ([]Case, error) {
	r := rand.New(rand.NewPCG(1, 2))
	var out []Case
	var ws rnn.Workspace
	for _, b := range []int{1, 8, 64, 256} {
		for _, in := range []int{64, 128} {
			for _, u := range []int{128, 256} {
				for _, t := range []int{20, 50} {
					g, _, err := newGRU(r, in, u)
					if err != nil {
						return nil, err
					}
					a := &rnn.Args{X: randSlice(r, b*t*in, 1), Batch: b, Steps: t, ReturnSequences: true,
						Out: make([]float32, b*t*u), H: make([]float32, b*u)}
					wall, cpu, err := measure(func() error { return g.Forward(&ws, a) }, minTime, reps)
					if err != nil {
						return nil, err
					}
					c := Case{Batch: b, Input: in, Units: u, Steps: t,
						Flops: 2 * float64(b*t*(in+u)*3*u), WallSec: wall, CPUSec: cpu}
					slog.Info("gru", "B", b, "I", in, "U", u, "T", t, "GFLOP/s", c.Flops/cpu/1e9)
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

// checkCase is the cross-check document for torch_gru.py.
type checkCase struct {
	Input, Units, Batch, Steps int
	GoBackwards                bool
	Kernel, RecurrentKernel    []float32
	Bias                       []float32 // [2, 3U]
	X, H0                      []float32
	Out, H                     []float32 // return_sequences output [B,T,U], final h [B,U]
}

func writeCheck(path string) error {
	r := rand.New(rand.NewPCG(5, 6))
	var cases []checkCase
	for _, back := range []bool{false, true} {
		in, u, b, t := 7, 19, 3, 6
		g, p, err := func() (*rnn.GRU, rnn.GRUParams, error) {
			_, p, err := newGRU(r, in, u)
			if err != nil {
				return nil, p, err
			}
			p.GoBackwards = back
			g, err := rnn.NewGRU(p)
			return g, p, err
		}()
		if err != nil {
			return err
		}
		c := checkCase{Input: in, Units: u, Batch: b, Steps: t, GoBackwards: back, Kernel: p.Kernel,
			RecurrentKernel: p.RecurrentKernel, Bias: p.Bias, X: randSlice(r, b*t*in, 1), H0: randSlice(r, b*u, 0.5),
			Out: make([]float32, b*t*u), H: make([]float32, b*u)}
		if err := g.Forward(nil, &rnn.Args{X: c.X, Batch: b, Steps: t, H0: c.H0, ReturnSequences: true,
			Out: c.Out, H: c.H}); err != nil {
			return err
		}
		cases = append(cases, c)
	}
	data, err := json.Marshal(cases)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func main() {
	out := flag.String("out", "go.json", "where to write the timings")
	check := flag.String("check", "", "write a torch cross-check case to this file and exit")
	minTime := flag.Float64("mintime", 0.15, "seconds per repetition")
	reps := flag.Int("reps", 3, "repetitions (best is kept)")
	flag.Parse()
	if *check != "" {
		if err := writeCheck(*check); err != nil {
			slog.Error("check", "err", err)
			os.Exit(1)
		}
		return
	}
	runtime.LockOSThread()
	res := Result{GOMAXPROCS: runtime.GOMAXPROCS(0), Asm: gemm.Accelerated() && rnn.Accelerated()}
	var err error
	if res.SGEMM, err = benchSGEMM(*minTime, *reps); err != nil {
		slog.Error("sgemm", "err", err)
		os.Exit(1)
	}
	if res.GRU, err = benchGRU(*minTime, *reps); err != nil {
		slog.Error("gru", "err", err)
		os.Exit(1)
	}
	data, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		slog.Error("json", "err", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		slog.Error("write", "err", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}
