// Command tfserve is a TensorFlow-Serving-compatible model server. It takes
// tensorflow_model_server's flags (see package server/flags) and serves TF
// Serving's REST API.
//
//	tfserve --model_name=half_plus_two --model_base_path=/models/half_plus_two
//	tfserve --model_config_file=/models/models.config --model_config_file_poll_wait_seconds=60
//
// SIGTERM or SIGINT stops accepting connections, drains the requests in
// flight, unloads the models and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tfserve/tfserve/graph/gorgonia"
	"github.com/tfserve/tfserve/kernels"
	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/inspect"
	"github.com/tfserve/tfserve/loader/mlflow"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/servable/redact"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/gctune"
	"github.com/tfserve/tfserve/server/loadfunc"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// subcommands maps os.Args[1] to a subcommand.
func subcommands() map[string]func(args []string) int {
	return map[string]func(args []string) int{"inspect": inspectCmd}
}

// inspectCmd prints a SavedModel's signatures, op support and whether the
// loader loads each MetaGraph, like `saved_model_cli show --all`.
func inspectCmd(args []string) int { return inspectTo(args, os.Stdout, os.Stderr) }

// inspectTo is inspectCmd writing to stdout and stderr. It exits 1 when
// the MetaGraph that --saved_model_tags selects (default serve, as the
// server's flag) would not load, 2 on a usage error.
func inspectTo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tfserve inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tags := fs.String("saved_model_tags", "", "comma-separated MetaGraph tags the exit status checks (default serve)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tfserve inspect [--saved_model_tags=serve] SAVED_MODEL_DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	dir := fs.Arg(0)
	rep, err := inspect.Inspect(dir, func(op string) bool {
		_, ok := kernels.Lookup(op)
		return ok || inspect.TranslatedOp(op)
	})
	if err != nil {
		fmt.Fprintln(stderr, "tfserve inspect:", err)
		return 1
	}
	rep.Write(stdout)
	var sel []string
	if *tags != "" {
		sel = strings.Split(*tags, ",")
	}
	if err := rep.Loads(sel); err != nil {
		fmt.Fprintln(stderr, "tfserve inspect: the model does not load:", err)
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) > 1 {
		if cmd, ok := subcommands()[os.Args[1]]; ok {
			os.Exit(cmd(os.Args[2:]))
		}
	}
	os.Exit(serve(os.Args[1:]))
}

func serve(args []string) int {
	// Every log line, the loader's and the sources' included, is redacted.
	log := redact.Logger(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	slog.SetDefault(log)
	opts, err := flags.Parse(args, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// TF Serving's image convention: MODEL_NAME and MODEL_BASE_PATH fill in
	// absent flags.
	if applied := flags.ApplyEnv(&opts, os.Getenv); len(applied) > 0 {
		log.Info("flags from the environment (TF Serving image convention)", "flags", applied,
			"model_name", opts.ModelName, "model_base_path", opts.ModelBasePath)
	}
	if opts.Version {
		fmt.Printf("tfserve %s\nTensorFlow ModelServer: REST API of tensorflow/serving 9d981c5c\n", version)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Small live heaps get 256 MiB of growth between collections unless GOGC
	// is set (see package gctune).
	defer gctune.Start(256<<20, os.Getenv).Stop()
	if addr := os.Getenv("TFSERVE_PPROF_ADDR"); addr != "" {
		// Go's profiler, for performance work: TFSERVE_PPROF_ADDR=127.0.0.1:6060.
		go func() { log.Warn("pprof server stopped", "err", http.ListenAndServe(addr, nil)) }()
	}

	srcOpts := mlflow.WithRegistry(source.Options{Logger: log}, mlflow.ConfigFromEnv(os.Getenv))
	loads, err := loadfunc.New(opts, loadfunc.Options{
		Logger: log,
		// TFSERVE_DISABLE_FUSION=1 runs Keras GRU/LSTM loops op by op.
		DisableFusion: os.Getenv("TFSERVE_DISABLE_FUSION") == "1",
		Engines:       engines(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "Failed to start server. Error:", err)
		return 1
	}
	defer loads.Close()
	deps := modelserver.Deps{
		Load: loads.Load,
		OpenSource: func(ctx context.Context, basePath string) (manager.Source, error) {
			return source.Open(ctx, basePath, srcOpts)
		},
		Logger:  log,
		Version: version,
	}
	if err := modelserver.Run(ctx, opts, deps); err != nil {
		fmt.Fprintln(os.Stderr, "Failed to start server. Error:", err)
		return 1
	}
	return 0
}

// engines lists the --engine values other than "default".
func engines() map[string]loadfunc.Engine {
	return map[string]loadfunc.Engine{
		"gorgonia": func(m *loader.Model) (servable.Model, error) {
			return gorgonia.New(m, gorgonia.Options{Logger: slog.Default()})
		},
	}
}
