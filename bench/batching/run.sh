#!/usr/bin/env bash
# Batching benchmark (issue: load testing + batching): the keras GRU fixture
# christopher_stock served by tfserve with and without --enable_batching,
# driven by bin/loadtest with a closed-loop concurrency sweep, plus a wrk
# cross-check of the harness at one concurrency. Writes bench/batching/RESULTS.md
# and one latency/throughput plot per configuration.
#   usage: bench/batching/run.sh [duration_s] [sweep] [keras/gru fixture name]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-5}; SWEEP=${2:-1,2,4,8,16,32,64}; MODEL=${3:-beagle_music_genre}
FX=../shared/fixtures/keras/gru/$MODEL
OUT=bench/batching/out; mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -o "$OUT/tfserve" ./cmd/tfserve
go build -o "$OUT/loadtest" ./cmd/loadtest
/usr/bin/python3 - "$FX/golden.json" > "$OUT/body.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
print(json.dumps(g["cases"][0]["request"]))
PY
cat > "$OUT/batching.config" <<'CFG'
max_batch_size { value: 64 }
batch_timeout_micros { value: 0 }
num_batch_threads { value: 1 }
max_enqueued_batches { value: 1000 }
CFG
cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$(cat "$OUT/body.json")]==]
wrk.headers["Content-Type"] = "application/json"
LUA
URL=http://127.0.0.1:18701/v1/models/gru:predict
serve() {
  "$OUT/tfserve" --rest_api_port=18701 --port=0 --model_name=gru --model_base_path="$(realpath $FX)" "$@" 2>"$OUT/tfserve.log" &
  PID=$!
  for i in $(seq 1 200); do curl -sf http://127.0.0.1:18701/v1/models/gru | grep -q AVAILABLE && return; sleep 0.1; done
  echo "server did not start"; cat "$OUT/tfserve.log"; exit 1
}
for mode in plain batching; do
  if [ $mode = plain ]; then serve; else serve --enable_batching --batching_parameters_file="$OUT/batching.config"; fi
  curl -sf -d @"$OUT/body.json" $URL >/dev/null
  "$OUT/loadtest" --url $URL --body "$OUT/body.json" --sweep "$SWEEP" --duration ${DUR}s --warmup 1s --quiet \
    --json-out "$OUT/$mode.json" --plot-out bench/batching/$MODEL-$mode.svg --plot-title "$MODEL GRU, $mode" > "$OUT/$mode.txt"
  "$OUT/loadtest" --url $URL --body "$OUT/body.json" --concurrency 16 --duration ${DUR}s --warmup 1s --quiet --json-out "$OUT/${mode}_c16.json" >/dev/null
  wrk -t2 -c16 -d${DUR}s --latency -s "$OUT/post.lua" $URL > "$OUT/${mode}_wrk.txt"
  kill $PID; wait $PID 2>/dev/null || true
done
/usr/bin/python3 - "$OUT" "$DUR" "$SWEEP" "$MODEL" > bench/batching/RESULTS-$MODEL.md <<'PY'
import json, sys, re, subprocess, datetime, os
out, dur, sweep, model = sys.argv[1:5]
plain = json.load(open(f"{out}/plain.json")); batch = json.load(open(f"{out}/batching.json"))
cpu = subprocess.run("lscpu | awk -F: '/Model name/ {print $2}'", shell=True, capture_output=True, text=True).stdout.strip()
print(f"# Batching benchmark: keras/gru/{model}, batch-1 requests\n")
print(f"- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; machine: {cpu}, {os.cpu_count()} cores (client and server share them); load average {open('/proc/loadavg').read().split()[0]}")
print(f"- command: `bench/batching/run.sh {dur} {sweep} {model}`; closed loop, {dur}s per level after 1s warm-up, REST on loopback")
print("- batching: `--enable_batching` with max_batch_size 64, batch_timeout_micros 0, num_batch_threads 1\n")
print("| concurrency | plain req/s | plain p50 ms | plain p99 ms | batching req/s | batching p50 ms | batching p99 ms | batching / plain |")
print("|---|---|---|---|---|---|---|---|")
for p, b in zip(plain, batch):
    print(f"| {p['concurrency']} | {p['throughput_rps']:.0f} | {p['latency_ms']['p50']:.2f} | {p['latency_ms']['p99']:.2f} | {b['throughput_rps']:.0f} | {b['latency_ms']['p50']:.2f} | {b['latency_ms']['p99']:.2f} | {b['throughput_rps']/p['throughput_rps']:.2f} |")
print(f"\nPlots: [plain]({model}-plain.svg), [batching]({model}-batching.svg).\n")
print("## Harness cross-check against wrk (concurrency 16, same endpoint)\n")
print("| mode | loadtest req/s | wrk req/s | loadtest / wrk |")
print("|---|---|---|---|")
for mode in ("plain", "batching"):
    lt = json.load(open(f"{out}/{mode}_c16.json"))
    lt = lt[0] if isinstance(lt, list) else lt
    w = float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{out}/{mode}_wrk.txt").read()).group(1))
    print(f"| {mode} | {lt['throughput_rps']:.0f} | {w:.0f} | {lt['throughput_rps']/w:.2f} |")
print(f"\nEnd-to-end REST predict latency at batch 1, concurrency 1 (plain): p50 {plain[0]['latency_ms']['p50']:.3f} ms, p99 {plain[0]['latency_ms']['p99']:.3f} ms.")
print(f"Request body: the first case of `../shared/fixtures/keras/gru/{model}/golden.json`.")
PY
cat bench/batching/RESULTS-$MODEL.md
