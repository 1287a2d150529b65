// Command echoserver is a tiny fasthttp server used to check the load tester
// against wrk (bench/loadtest/compare_wrk.sh). It answers every request with
// a small predict-style JSON body, after an optional delay.
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
	flag.Parse()
	body := []byte(`{"predictions": [2.5, 3.0, 4.5]}`)
	h := func(ctx *fasthttp.RequestCtx) {
		if *delay > 0 {
			time.Sleep(*delay)
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
