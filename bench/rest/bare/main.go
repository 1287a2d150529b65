// Command bare is the peer for the REST benchmark: a bare fasthttp server
// that answers every request with a fixed small JSON body, the upper bound
// for any HTTP model server on the same machine and client.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18600", "listen address")
	flag.Parse()
	body := []byte("{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}")
	h := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, h))
}
