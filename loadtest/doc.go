// Package loadtest drives load against a TensorFlow-Serving-compatible REST
// endpoint (tfserve or TF Serving itself) and reports latency percentiles,
// throughput and errors.
//
// A run sends requests to a [Target]. Two load models are offered:
//
//   - Closed loop ([RunClosed]): N workers each send a request, wait for the
//     answer and send the next. Latency is measured from the actual send.
//     Over plain HTTP the workers are keep-alive connections driven by a few
//     gnet event loops (github.com/panjf2000/gnet/v2), the way wrk drives
//     them, so that the load generator costs about what wrk costs per
//     request and leaves the same CPU to a server on the same machine; over
//     HTTPS (or with HTTPOptions.GoroutineClient) each worker is a goroutine
//     with fasthttp's client.
//   - Open loop ([RunOpen]): requests are started at a constant rate whatever
//     the server does. Latency is measured from each request's scheduled send
//     time, so a stalled server or a stalled client shows up in the
//     percentiles (no coordinated omission). Over plain HTTP the same event
//     loops run it the way wrk2 does: hit k is due at start+(k+1)/rate, a
//     pacer hands due hits to idle keep-alive connections (one request in
//     flight on each), dials more when none is idle, up to
//     Config.MaxInFlight connections ([DefaultMaxConns] by default), past
//     which due hits wait client-side. One core offers what the closed
//     loop (and wrk) sends from one core, 20–30× vegeta's rate
//     (BENCHMARKS.md). Hits still unsent when the duration ends are not sent
//     (Result.Scheduled minus Result.Requests). Over HTTPS (or with
//     HTTPOptions.GoroutineClient) vegeta's attacker sends them, a goroutine
//     and net/http per request; non-HTTP targets (gRPC) use vegeta's pacer
//     with a goroutine per request.
//
// Request bodies come from a JSON file, a JSONL file (one body per line,
// cycled), or are generated from a model's metadata signature
// ([ParseMetadata], [GenerateBodies]).
//
// Latencies go into HDR histograms (github.com/HdrHistogram/hdrhistogram-go).
// [Main] implements the cmd/loadtest command line.
package loadtest
