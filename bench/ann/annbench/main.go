// Command annbench measures recall@k against queries per second of tfserve's
// ann index on one data set, sweeping build and search settings, and writes
// one JSON object per measured setting.
//
// Inputs are a directory holding base.npy ([N,D] float32), queries.npy
// ([Q,D] float32) and gt.npy ([Q,>=k] int32/int64 exact neighbours), as
// written by bench/ann/peers.py prepare, or explicit -base/-queries/-gt
// paths (.npy or .fvecs/.ivecs).
//
//	GOMAXPROCS=1 go run ./bench/ann/annbench -dir /tmp/annbench/fashion-mnist-784-l2 -metric squared_l2
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tfserve/tfserve/ann"
)

// opts holds the flags that run does not take as parameters.
var opts struct{ cacheDir, cpuProfile string }

type result struct {
	Library  string  `json:"library"`
	Dataset  string  `json:"dataset"`
	Metric   string  `json:"metric"`
	Index    string  `json:"index"`
	Search   string  `json:"search"`
	BuildS   float64 `json:"build_s"`
	Recall   float64 `json:"recall"`
	QPS      float64 `json:"qps"`
	CPUQPS   float64 `json:"cpu_qps"`
	Queries  int     `json:"queries"`
	Threads  int     `json:"threads"`
	Kernels  string  `json:"kernels"`
	Measured string  `json:"measured"`
}

func main() {
	dir := flag.String("dir", "", "directory with base.npy, queries.npy, gt.npy")
	basePath := flag.String("base", "", "base vectors (.npy or .fvecs), overrides -dir")
	queryPath := flag.String("queries", "", "query vectors (.npy or .fvecs), overrides -dir")
	gtPath := flag.String("gt", "", "ground truth (.npy or .ivecs), overrides -dir")
	name := flag.String("name", "", "data set name for the output (default: base dir name)")
	metric := flag.String("metric", "squared_l2", "dot_product or squared_l2")
	k := flag.Int("k", 10, "neighbours per query")
	out := flag.String("out", "", "append JSON lines here (default stdout)")
	builds := flag.String("builds", "200:2,200:2:i8,200:4:i8", "num_leaves:dimensions_per_block[:i8|:f16][:sph] list (i8/f16: int8/float16 vectors for reordering, sph: spherical partitioning)")
	leaves := flag.String("leaves", "2,3,4,6,8,12,16,24,32", "num_leaves_to_search sweep")
	reorders := flag.String("reorder", "0,50,100,200", "reordering_num_neighbors sweep (0: none)")
	thresh := flag.Float64("aniso", 0.2, "anisotropic_quantization_threshold for dot_product (0: plain PQ)")
	sample := flag.Int("training_sample_size", 30000, "training_sample_size")
	maxQ := flag.Int("nq", 0, "use only the first nq queries (0: all)")
	cacheDir := flag.String("cache", "", "directory to keep built indexes in (reused when present)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the searches here")
	flag.Parse()
	opts.cacheDir, opts.cpuProfile = *cacheDir, *cpuProfile
	if err := run(*dir, *basePath, *queryPath, *gtPath, *name, *metric, *k, *out, *builds, *leaves, *reorders, *thresh, *sample, *maxQ); err != nil {
		slog.Error("annbench", "err", err)
		os.Exit(1)
	}
}

func run(dir, basePath, queryPath, gtPath, name, metric string, k int, out, builds, leavesList, reorderList string, thresh float64, sample, maxQ int) error {
	if basePath == "" {
		basePath = filepath.Join(dir, "base.npy")
	}
	if queryPath == "" {
		queryPath = filepath.Join(dir, "queries.npy")
	}
	if gtPath == "" {
		gtPath = filepath.Join(dir, "gt.npy")
	}
	if name == "" {
		name = filepath.Base(filepath.Dir(basePath + "x"))
		if dir != "" {
			name = filepath.Base(dir)
		}
	}
	base, n, dim, err := readFloatMatrix(basePath)
	if err != nil {
		return err
	}
	queries, nq, qdim, err := readFloatMatrix(queryPath)
	if err != nil {
		return err
	}
	if qdim != dim {
		return fmt.Errorf("queries have dim %d, base %d", qdim, dim)
	}
	gt, gnq, gk, err := readIntMatrix(gtPath)
	if err != nil {
		return err
	}
	if gnq != nq || gk < k {
		return fmt.Errorf("ground truth is [%d,%d], want [%d,>=%d]", gnq, gk, nq, k)
	}
	if maxQ > 0 && maxQ < nq {
		nq = maxQ
		queries = queries[:nq*dim]
	}
	m, err := ann.ParseDistanceMeasure(metric)
	if err != nil {
		return err
	}
	w := os.Stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	slog.Info("data", "name", name, "n", n, "dim", dim, "queries", nq, "metric", m, "gomaxprocs", runtime.GOMAXPROCS(0))

	for _, b := range strings.Split(builds, ",") {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			return fmt.Errorf("bad build spec %q (want leaves:dims_per_block[:i8|:f16][:sph])", b)
		}
		int8v, f16, sph := false, false, false
		for _, o := range parts[2:] {
			switch o {
			case "i8":
				int8v = true
			case "f16":
				f16 = true
			case "sph":
				sph = true
			default:
				return fmt.Errorf("bad build option %q in %q (want i8, f16 or sph)", o, b)
			}
		}
		nl, err1 := strconv.Atoi(parts[0])
		dpb, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad build spec %q", b)
		}
		cfg := ann.Config{DistanceMeasure: m, NumLeaves: nl, NumLeavesToSearch: 1, DimensionsPerBlock: dpb,
			TrainingSampleSize: sample, ReorderingNumNeighbors: 1, ReorderingInt8: int8v, ReorderingFloat16: f16, Spherical: sph, Seed: 1}
		if m == ann.DotProduct {
			cfg.AnisotropicQuantizationThreshold = thresh
		}
		idxName := fmt.Sprintf("leaves=%d,dpb=%d,aniso=%g", nl, dpb, cfg.AnisotropicQuantizationThreshold)
		if sph {
			idxName += ",spherical"
		}
		if int8v {
			idxName += ",reorder=int8"
		}
		if f16 {
			idxName += ",reorder=float16"
		}
		ix, buildS, err := buildOrLoad(base, n, dim, cfg, name, idxName)
		if err != nil {
			return err
		}
		slog.Info("built", "index", idxName, "cpu_seconds", buildS, "kernels", ix.Kernels())
		for _, rs := range strings.Split(reorderList, ",") {
			reorder, err := strconv.Atoi(rs)
			if err != nil {
				return err
			}
			for _, ls := range strings.Split(leavesList, ",") {
				nls, err := strconv.Atoi(ls)
				if err != nil {
					return err
				}
				if nls > nl {
					continue
				}
				opt := ann.SearchOptions{LeavesToSearch: nls, PreReorderNumNeighbors: reorder}
				if reorder == 0 {
					opt.PreReorderNumNeighbors = -1
				}
				// Warm up on a few queries, then time the whole batch.
				if _, _, err := ix.SearchBatched(queries[:min(nq, 200)*dim], k, opt); err != nil {
					return err
				}
				c0 := cpuSeconds()
				t := time.Now()
				idx, _, err := ix.SearchBatched(queries, k, opt)
				if err != nil {
					return err
				}
				secs := time.Since(t).Seconds()
				cpu := cpuSeconds() - c0
				r := result{Library: "tfserve-ann", Dataset: name, Metric: metric, Index: idxName,
					Search: fmt.Sprintf("leaves_to_search=%d,reorder=%d", nls, reorder), BuildS: buildS,
					Recall: recall(idx, gt, gk, nq, k), QPS: float64(nq) / secs, CPUQPS: float64(nq) / cpu, Queries: nq,
					Threads: runtime.GOMAXPROCS(0), Kernels: ix.Kernels(), Measured: time.Now().UTC().Format(time.RFC3339)}
				slog.Info("measured", "search", r.Search, "recall", fmt.Sprintf("%.4f", r.Recall), "qps", int(r.QPS), "cpu_qps", int(r.CPUQPS))
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// buildOrLoad builds the index, or loads it from the cache directory when a
// previous run saved it. The build time is 0 for a loaded index.
func buildOrLoad(base []float32, n, dim int, cfg ann.Config, name, idxName string) (*ann.Index, float64, error) {
	path := ""
	if opts.cacheDir != "" {
		safe := strings.NewReplacer("=", "", ",", "_").Replace(idxName)
		path = filepath.Join(opts.cacheDir, fmt.Sprintf("%s_%s_%d.ann", name, safe, cfg.TrainingSampleSize))
		if ix, err := ann.LoadFile(path); err == nil {
			slog.Info("loaded cached index", "path", path)
			return ix, 0, nil
		}
	}
	c0 := cpuSeconds()
	ix, err := ann.Build(base, n, dim, cfg)
	if err != nil {
		return nil, 0, err
	}
	buildS := cpuSeconds() - c0
	if path != "" {
		if err := ix.SaveFile(path); err != nil {
			return nil, 0, err
		}
	}
	return ix, buildS, nil
}

// cpuSeconds is the CPU time (user+system) this process has used. On a
// shared machine it is a steadier measure than wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// recall is |returned ∩ true top-k| / k averaged over queries.
func recall(idx []int32, gt []int64, gk, nq, k int) float64 {
	hit := 0
	for i := 0; i < nq; i++ {
		truth := gt[i*gk : i*gk+k]
		for _, id := range idx[i*k : (i+1)*k] {
			for _, t := range truth {
				if int64(id) == t {
					hit++
					break
				}
			}
		}
	}
	return float64(hit) / float64(nq*k)
}
