// Command loadtest drives load against a TF Serving REST endpoint (tfserve or
// TF Serving itself) and reports latency percentiles, throughput and errors.
// See package loadtest for the flags and the output formats.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tfserve/tfserve/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadtest.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
