#!/usr/bin/env bash
# Batching benchmark (issue: load testing + batching): a keras GRU fixture
# served by tfserve with and without --enable_batching, driven by bin/loadtest
# with a closed-loop concurrency sweep. Plain and batching alternate for
# ROUNDS rounds and each cell is the median round, because throughput on a
# small shared machine moves ±20% from run to run. A wrk run at concurrency 16
# per mode cross-checks the harness. Writes bench/batching/RESULTS-MODEL.md
# and one latency/throughput plot per mode (from the last round).
#   usage: bench/batching/run.sh [duration_s] [sweep] [keras/gru fixture] [rounds]
# Batching parameters follow TF Serving's CPU advice (num_batch_threads = cores,
# a small batch_timeout_micros, about 2 × max_batch_size clients at the top of
# the sweep): max_batch_size 16, batch_timeout_micros 500.
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-4}; SWEEP=${2:-1,4,16,32,64}; MODEL=${3:-beagle_music_genre}; ROUNDS=${4:-3}
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
cat > "$OUT/batching.config" <<CFG
max_batch_size { value: 16 }
batch_timeout_micros { value: 500 }
num_batch_threads { value: $(nproc) }
max_enqueued_batches { value: 1000 }
CFG
cat > "$OUT/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$(cat "$OUT/body.json")]==]
wrk.headers["Content-Type"] = "application/json"
LUA
URL=http://127.0.0.1:18701/v1/models/gru:predict
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null || true' EXIT
serve() {
	"$OUT/tfserve" --rest_api_port=18701 --port=0 --model_name=gru --model_base_path="$(realpath $FX)" "$@" 2>"$OUT/tfserve.log" &
	PID=$!
	for _ in $(seq 1 200); do curl -sf http://127.0.0.1:18701/v1/models/gru | grep -q AVAILABLE && return; sleep 0.1; done
	echo "server did not start"; cat "$OUT/tfserve.log"; exit 1
}
stop() { kill $PID; wait $PID 2>/dev/null || true; PID=""; }
start_mode() {
	if [ "$1" = plain ]; then serve; else serve --enable_batching --batching_parameters_file="$OUT/batching.config"; fi
	curl -sf -d @"$OUT/body.json" $URL >/dev/null
}
for round in $(seq 1 "$ROUNDS"); do
	modes="plain batching"; (( round % 2 == 0 )) && modes="batching plain"
	for mode in $modes; do
		start_mode $mode
		"$OUT/loadtest" --url $URL --body "$OUT/body.json" --sweep "$SWEEP" --duration ${DUR}s --warmup 1s --quiet \
			--json-out "$OUT/$mode-$round.json" --plot-out bench/batching/$MODEL-$mode.svg --plot-title "$MODEL GRU, $mode" >/dev/null
		stop
		echo "round $round $mode done" >&2
	done
done
for mode in plain batching; do
	start_mode $mode
	"$OUT/loadtest" --url $URL --body "$OUT/body.json" --concurrency 16 --duration ${DUR}s --warmup 1s --quiet --json-out "$OUT/${mode}_c16.json" >/dev/null
	wrk -t2 -c16 -d${DUR}s -s "$OUT/post.lua" $URL > "$OUT/${mode}_wrk.txt"
	stop
done
/usr/bin/python3 - "$OUT" "$DUR" "$SWEEP" "$MODEL" "$ROUNDS" > bench/batching/RESULTS-$MODEL.md <<'PY'
import json, sys, re, subprocess, datetime, os, statistics
out, dur, sweep, model, rounds = sys.argv[1:6]
rounds = int(rounds)
runs = {m: [json.load(open(f"{out}/{m}-{r}.json")) for r in range(1, rounds + 1)] for m in ("plain", "batching")}
cpu = subprocess.run("lscpu | awk -F: '/Model name/ {print $2}'", shell=True, capture_output=True, text=True).stdout.strip()
def med(mode, i, f):
    return statistics.median(f(run[i]) for run in runs[mode])
print(f"# Batching benchmark: keras/gru/{model}, batch-1 requests\n")
print(f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%dT%H:%MZ}; machine: {cpu}, {os.cpu_count()} cores (client and server share them); load average {open('/proc/loadavg').read().split()[0]}")
print(f"- command: `bench/batching/run.sh {dur} {sweep} {model} {rounds}`; closed loop, {dur}s per level after 1s warm-up, REST on loopback")
print(f"- batching: `--enable_batching` with max_batch_size 16, batch_timeout_micros 500, num_batch_threads {os.cpu_count()}")
print(f"- each cell is the median of {rounds} rounds; plain and batching alternate (ratio = median batching ÷ median plain)\n")
print("| concurrency | plain req/s | plain p50 ms | plain p99 ms | batching req/s | batching p50 ms | batching p99 ms | batching / plain | rounds: plain / batching req/s |")
print("|---|---|---|---|---|---|---|---|---|")
for i, p in enumerate(runs["plain"][0]):
    pr, br = med("plain", i, lambda r: r["throughput_rps"]), med("batching", i, lambda r: r["throughput_rps"])
    each = ", ".join(f"{a['throughput_rps']:.0f}/{b['throughput_rps']:.0f}" for a, b in zip((x[i] for x in runs["plain"]), (x[i] for x in runs["batching"])))
    print(f"| {p['concurrency']} | {pr:.0f} | {med('plain', i, lambda r: r['latency_ms']['p50']):.2f} | {med('plain', i, lambda r: r['latency_ms']['p99']):.2f} | "
          f"{br:.0f} | {med('batching', i, lambda r: r['latency_ms']['p50']):.2f} | {med('batching', i, lambda r: r['latency_ms']['p99']):.2f} | **{br/pr:.2f}** | {each} |")
print(f"\nPlots (last round): [plain]({model}-plain.svg), [batching]({model}-batching.svg).\n")
print("## Harness cross-check against wrk (concurrency 16, same endpoint)\n")
print("| mode | loadtest req/s | wrk req/s | loadtest / wrk |")
print("|---|---|---|---|")
for mode in ("plain", "batching"):
    lt = json.load(open(f"{out}/{mode}_c16.json"))
    lt = lt[0] if isinstance(lt, list) else lt
    w = float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{out}/{mode}_wrk.txt").read()).group(1))
    print(f"| {mode} | {lt['throughput_rps']:.0f} | {w:.0f} | {lt['throughput_rps']/w:.2f} |")
print(f"\nRequest body: the first case of `../shared/fixtures/keras/gru/{model}/golden.json`.")
PY
cat bench/batching/RESULTS-$MODEL.md
