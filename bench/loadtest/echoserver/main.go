// Command echoserver is a tiny fasthttp server used to check the load tester
// against wrk (bench/loadtest/compare_wrk.sh). It answers every request with
// a small predict-style JSON body, after an optional delay (sleep, no CPU)
// and optional busy work (CPU, like a model server's inference).
package main

import (
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18501", "listen address")
	delay := flag.Duration("delay", 0, "sleep this long before answering")
	spin := flag.Duration("spin", 0, "burn this much CPU time before answering")
	flag.Parse()
	body := []byte(`{"predictions": [2.5, 3.0, 4.5]}`)
	h := func(ctx *fasthttp.RequestCtx) {
		if *delay > 0 {
			time.Sleep(*delay)
		}
		if *spin > 0 {
			x := uint64(1)
			for end := time.Now().Add(*spin); time.Now().Before(end); {
				for range 64 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			ctx.SetUserValue("spin", x) // keep the loop from being optimized away
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
	srv := &fasthttp.Server{Handler: h, Name: "echoserver"}
	slog.Info("listening", "addr", *addr)
	if err := srv.ListenAndServe(*addr); err != nil {
		slog.Error("serve", "err", err)
		os.Exit(1)
	}
}
