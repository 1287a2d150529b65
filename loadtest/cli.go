package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// headerFlags collects repeated --header "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	http.Header(h).Add(k, strings.TrimSpace(v))
	return nil
}

type options struct {
	url, body, jsonl, metadataURL, metadataFile string
	grpcAddr, grpcModel                         string
	grpcConns                                   int
	grpcTensorContent                           bool
	gen                                         GenOptions
	seed                                        uint64
	genBodies                                   int
	printBody                                   bool
	concurrency, maxInFlight                    int
	rate                                        float64
	sweep, rateSweep                            string
	duration, warmup, timeout                   time.Duration
	requests                                    int64
	header                                      headerFlags
	jsonOut, csvOut, plotOut, plotTitle         string
	quiet                                       bool
	cpuProfile                                  string
	threads                                     int
	client                                      string
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.header = headerFlags{}
	fs.StringVar(&o.url, "url", "", "full predict URL, e.g. http://127.0.0.1:8501/v1/models/half_plus_two:predict (required)")
	fs.StringVar(&o.grpcAddr, "grpc", "", "drive TF Serving's gRPC PredictionService at host:port (or unix:///path) instead of REST; bodies are REST JSON (--body/--jsonl) converted to PredictRequests")
	fs.StringVar(&o.grpcModel, "model", "", "with --grpc: the model name")
	fs.IntVar(&o.grpcConns, "grpc-conns", 4, "with --grpc: HTTP/2 connections to spread requests over")
	fs.BoolVar(&o.grpcTensorContent, "grpc-tensor-content", false, "with --grpc: send inputs as tensor_content")
	fs.StringVar(&o.body, "body", "", "file holding one JSON request body")
	fs.StringVar(&o.jsonl, "jsonl", "", "JSONL file, one JSON request body per line, sent round robin")
	fs.StringVar(&o.metadataURL, "metadata-url", "", "metadata URL for generated bodies (default: derived from --url)")
	fs.StringVar(&o.metadataFile, "metadata-file", "", "read model metadata JSON from this file instead of the server")
	fs.StringVar(&o.gen.Signature, "signature", DefaultSignature, "signature to generate bodies for")
	fs.IntVar(&o.gen.Batch, "batch", 1, "rows per generated request (size of a leading -1 dimension)")
	fs.IntVar(&o.gen.DimDefault, "dim-default", 8, "size of other -1 dimensions in generated requests")
	fs.Int64Var(&o.gen.IntMax, "int-max", 100, "generated integers are drawn from [0, int-max)")
	fs.IntVar(&o.gen.StringLen, "str-len", 8, "length of generated strings")
	fs.BoolVar(&o.gen.Columnar, "columnar", false, "generate the columnar (\"inputs\") format instead of rows (\"instances\")")
	fs.IntVar(&o.genBodies, "gen-bodies", 16, "number of distinct generated bodies, sent round robin")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed for generated bodies")
	fs.BoolVar(&o.printBody, "print-body", false, "print the first request body to stdout and exit")
	fs.IntVar(&o.concurrency, "concurrency", 1, "closed loop: number of concurrent workers (connections)")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second, sent whatever the server does (latency measured from the scheduled send time; over http:// on event loops, wrk2's design)")
	fs.StringVar(&o.sweep, "sweep", "", "closed-loop concurrency sweep, e.g. 1,2,4,8,16,32,64")
	fs.StringVar(&o.rateSweep, "rate-sweep", "", "open-loop rate sweep, e.g. 100,200,400")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured duration of each run (0 with --requests: until the count)")
	fs.DurationVar(&o.warmup, "warmup", 0, "warm-up before each run, results discarded")
	fs.Int64Var(&o.requests, "requests", 0, "stop each run after this many requests (0: no bound)")
	fs.IntVar(&o.maxInFlight, "max-inflight", 0, "open loop: bound on concurrent requests; past it, due requests wait client-side and their latency shows it (0: 512 connections on event loops, unbounded with --client goroutine)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.IntVar(&o.threads, "threads", DefaultEventLoops, "over http://: event loops (OS threads) driving the connections, like wrk's -t")
	fs.StringVar(&o.client, "client", "eventloop", "over http://: \"eventloop\" (gnet, wrk's and wrk2's design) or \"goroutine\" (closed loop: fasthttp, a goroutine per connection; open loop: vegeta's attacker); https:// always uses goroutine")
	fs.Var(o.header, "header", "extra request header \"Name: value\" (repeatable)")
	fs.StringVar(&o.jsonOut, "json-out", "", "write results as JSON to this file")
	fs.StringVar(&o.csvOut, "csv-out", "", "write results as CSV to this file")
	fs.StringVar(&o.plotOut, "plot-out", "", "write a latency-vs-throughput plot: .html (self-contained page) or .svg")
	fs.StringVar(&o.plotTitle, "plot-title", "", "plot title (default: the URL)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line on stderr")
	fs.StringVar(&o.cpuProfile, "cpu-profile", "", "write a CPU profile of the load tester itself to this file")
	return fs
}

// Main runs the loadtest command line and returns the process exit code:
// 0 on success, 1 when the run failed, 2 on bad flags.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: loadtest --url URL [--body FILE | --jsonl FILE | generated from metadata] [--concurrency N | --rate R | --sweep LIST | --rate-sweep LIST] [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := o.check(fs.NArg()); err != nil {
		log.Error("bad flags", "err", err)
		return 2
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			log.Error("cpu profile", "err", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Error("cpu profile", "err", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(ctx, &o, stdout, stderr, log); err != nil {
		log.Error("loadtest failed", "err", err)
		return 1
	}
	return 0
}

func (o *options) check(nargs int) error {
	switch {
	case nargs > 0:
		return errors.New("unexpected arguments")
	case o.grpcAddr != "" && o.grpcModel == "":
		return errors.New("--grpc needs --model")
	case o.grpcAddr != "" && o.body == "" && o.jsonl == "":
		return errors.New("--grpc needs --body or --jsonl")
	case o.url == "" && o.grpcAddr == "":
		return errors.New("--url (or --grpc) is required")
	case o.body != "" && o.jsonl != "":
		return errors.New("--body and --jsonl exclude each other")
	case o.sweep != "" && o.rateSweep != "":
		return errors.New("--sweep and --rate-sweep exclude each other")
	case o.rate > 0 && (o.sweep != "" || o.rateSweep != ""):
		return errors.New("--rate excludes --sweep and --rate-sweep")
	case o.rate < 0:
		return errors.New("--rate must not be negative")
	case o.genBodies <= 0:
		return errors.New("--gen-bodies must be positive")
	case o.client != "eventloop" && o.client != "goroutine":
		return fmt.Errorf("--client %q: want eventloop or goroutine", o.client)
	case o.threads < 1:
		return fmt.Errorf("--threads %d: want at least 1", o.threads)
	}
	return nil
}

func (o *options) loadBodies(ctx context.Context) ([][]byte, error) {
	switch {
	case o.body != "":
		b, err := ReadBodyFile(o.body)
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	case o.jsonl != "":
		return ReadJSONLFile(o.jsonl)
	}
	var raw []byte
	if o.metadataFile != "" {
		b, err := os.ReadFile(o.metadataFile)
		if err != nil {
			return nil, fmt.Errorf("read metadata: %w", err)
		}
		raw = b
	} else {
		u := o.metadataURL
		if u == "" {
			var err error
			if u, err = MetadataURL(o.url); err != nil {
				return nil, fmt.Errorf("no --body or --jsonl given and %w", err)
			}
		}
		b, err := FetchMetadata(ctx, &http.Client{Timeout: o.timeout}, u)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	md, err := ParseMetadata(raw)
	if err != nil {
		return nil, err
	}
	gen := o.gen
	gen.Seed = o.seed
	return GenerateBodies(md, gen, o.genBodies)
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := parse(f)
		if err != nil {
			return nil, fmt.Errorf("list item %q: %w", f, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list %q", s)
	}
	return out, nil
}

func run(ctx context.Context, o *options, stdout, stderr io.Writer, log *slog.Logger) error {
	list, err := o.loadBodies(ctx)
	if err != nil {
		return err
	}
	if o.printBody {
		_, err := fmt.Fprintf(stdout, "%s\n", list[0])
		return err
	}
	bodies, err := NewBodies(list)
	if err != nil {
		return err
	}
	var target Target
	if o.grpcAddr != "" {
		gt, err := NewGRPCTarget(ctx, o.grpcAddr, o.grpcModel, list, GRPCOptions{Conns: o.grpcConns, Timeout: o.timeout, TensorContent: o.grpcTensorContent})
		if err != nil {
			return err
		}
		defer gt.Close()
		target = gt
		o.url = "grpc://" + o.grpcAddr + "/" + o.grpcModel
	} else {
		ht, err := NewHTTPTarget(o.url, bodies, HTTPOptions{
			Header:          http.Header(o.header),
			Timeout:         o.timeout,
			EventLoops:      o.threads,
			GoroutineClient: o.client == "goroutine",
		})
		if err != nil {
			return err
		}
		target = ht
	}
	cfg := Config{
		Concurrency: o.concurrency,
		Rate:        o.rate,
		Duration:    o.duration,
		Warmup:      o.warmup,
		MaxRequests: o.requests,
		MaxInFlight: o.maxInFlight,
	}
	if !o.quiet {
		cfg.Progress = stderr
	}
	log.Info("load test", "url", o.url, "bodies", bodies.Len(), "duration", o.duration, "warmup", o.warmup)
	var results []*Result
	sweep := o.sweep != "" || o.rateSweep != ""
	var runErr error
	switch {
	case o.sweep != "":
		levels, err := parseList(o.sweep, strconv.Atoi)
		if err != nil {
			return fmt.Errorf("--sweep: %w", err)
		}
		results, runErr = SweepConcurrency(ctx, target, levels, cfg)
	case o.rateSweep != "":
		rates, err := parseList(o.rateSweep, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
		if err != nil {
			return fmt.Errorf("--rate-sweep: %w", err)
		}
		results, runErr = SweepRate(ctx, target, rates, cfg)
	case o.rate > 0:
		var r *Result
		if r, runErr = RunOpen(ctx, target, cfg); runErr == nil {
			results = []*Result{r}
		}
	default:
		var r *Result
		if r, runErr = RunClosed(ctx, target, cfg); runErr == nil {
			results = []*Result{r}
		}
	}
	for _, r := range results {
		if r.Scheduled > 0 && float64(r.Requests) < 0.95*float64(r.Scheduled) {
			log.Warn("load generator fell behind the schedule: fewer requests completed than scheduled",
				"rate", r.TargetRateRPS, "scheduled", r.Scheduled, "completed", r.Requests)
		}
	}
	// Write what was measured even when a sweep stopped part way.
	if len(results) > 0 {
		if err := writeOutputs(o, results, sweep, stdout); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

func writeOutputs(o *options, results []*Result, sweep bool, stdout io.Writer) error {
	if err := WriteTable(stdout, results); err != nil {
		return err
	}
	title := o.plotTitle
	if title == "" {
		title = "latency vs throughput: " + o.url
	}
	outs := []struct {
		path  string
		write func(io.Writer) error
	}{
		{o.jsonOut, func(w io.Writer) error { return WriteJSON(w, results, sweep) }},
		{o.csvOut, func(w io.Writer) error { return WriteCSV(w, results) }},
		{o.plotOut, func(w io.Writer) error {
			if strings.EqualFold(filepath.Ext(o.plotOut), ".svg") {
				return WriteSVG(w, title, results)
			}
			return WritePlotHTML(w, title, results)
		}},
	}
	for _, out := range outs {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, out.write); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
