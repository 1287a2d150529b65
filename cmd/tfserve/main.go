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
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tfserve/tfserve/loader"
	"github.com/tfserve/tfserve/loader/mlflow"
	"github.com/tfserve/tfserve/loader/source"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/flags"
	"github.com/tfserve/tfserve/server/manager"
	"github.com/tfserve/tfserve/server/modelserver"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// subcommands maps os.Args[1] to a subcommand (the lead adds "inspect").
func subcommands() map[string]func(args []string) int {
	return map[string]func(args []string) int{}
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
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	opts, err := flags.Parse(args, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if opts.Version {
		fmt.Printf("tfserve %s\nTensorFlow ModelServer: REST API of tensorflow/serving 9d981c5c\n", version)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	srcOpts := mlflow.WithRegistry(source.Options{Logger: log}, mlflow.ConfigFromEnv(os.Getenv))
	deps := modelserver.Deps{
		Load: func(ctx context.Context, dir string, lo modelserver.LoadOptions) (servable.Model, error) {
			if lo.Engine != "default" {
				// TODO(lead): wire --engine=gorgonia once the gorgonia lowering exists.
				return nil, fmt.Errorf("load %s: --engine=%s is not available in this build", dir, lo.Engine)
			}
			m, err := loader.Load(ctx, dir, loader.Options{Tags: lo.Tags, Logger: log})
			if err != nil {
				return nil, err
			}
			return m, nil
		},
		OpenSource: func(ctx context.Context, basePath string) (manager.Source, error) {
			return source.Open(ctx, basePath, srcOpts)
		},
		Logger: log,
	}
	if err := modelserver.Run(ctx, opts, deps); err != nil {
		fmt.Fprintln(os.Stderr, "Failed to start server. Error:", err)
		return 1
	}
	return 0
}
