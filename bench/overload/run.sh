#!/usr/bin/env bash
# Overload bench (issue 18): tfserve pinned to core 0, bin/loadtest open loop
# pinned to core 1 (one event loop: --threads 1), offered 1x, 2x and 4x the
# measured capacity of each model with the client's default pool of 512
# connections, and 4x again from 4096 connections (many clients).
# Reports accepted throughput, refusal rate, the accepted requests' latency
# (from the actual send and from the schedule), server-side p50/p99
# (request_latency histogram), peak RSS, and, from a 100 req/s probe
# (probe.py, 200 req/s) that runs through each burst, the probe's p99 under load and the
# time after the burst until its latency is back to the unloaded p99.
# Capacity is measured closed loop with 16 connections and again with 512
# (the burst's pool); both are reported.
# Usage: [OUT=dir] bench/overload/run.sh [burst-seconds] [extra tfserve flags...]
#   e.g. bench/overload/run.sh 5 --enable_admission_control=false
#        OUT=bench/overload/out-shed bench/overload/run.sh 5 --admission_shed_connections
#        MODELS=half_plus_two CASES="x4 x4c4096" bench/overload/run.sh 5
# Writes $OUT (default bench/overload/out)/{*.json,*.jsonl,metrics-*.txt,results.json,overload.svg}.
set -euo pipefail
cd "$(dirname "$0")/../.."
burst=${1:-5}; shift || true
out=${OUT:-bench/overload/out}
rm -rf "$out"; mkdir -p "$out"
go build -o bin/tfserve ./cmd/tfserve
go build -o bin/loadtest ./cmd/loadtest
fx=../shared/fixtures
models=("half_plus_two=$fx/tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu"
        "christopher_stock=$fx/keras/gru/christopher_stock")
cases=("x1:1:512" "x2:2:512" "x4:4:512" "x4c4096:4:4096")
# MODELS / CASES (space-separated names and labels) pick a subset, e.g.
# MODELS=half_plus_two CASES=x4 for a quick look at one cell.
if [ -n "${CASES:-}" ]; then
  picked=(); for c in "${cases[@]}"; do [[ " $CASES " == *" ${c%%:*} "* ]] && picked+=("$c"); done
  cases=("${picked[@]}")
fi
port=18611
mon=$out/monitoring.config
echo 'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }' > "$mon"
lt() { taskset -c 1 bin/loadtest --quiet --threads 1 "$@"; }
probe() { taskset -c 1 /usr/bin/python3 bench/overload/probe.py "$@"; }
scrape() { curl -sf "http://127.0.0.1:$port/monitoring/prometheus/metrics" > "$1"; }
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
for spec in "${models[@]}"; do
  name=${spec%%=*}; path=${spec#*=}
  [ -n "${MODELS:-}" ] && [[ " $MODELS " != *" $name "* ]] && continue
  taskset -c 0 bin/tfserve --model_name="$name" --model_base_path="$path" --rest_api_port=$port --port=0 \
    --monitoring_config_file="$mon" "$@" 2>"$out/server-$name.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
  url="http://127.0.0.1:$port/v1/models/$name:predict"
  bin/loadtest --url "$url" --print-body > "$out/$name-body.json"
  lt --url "$url" --concurrency 16 --warmup 2s --duration 5s --json-out "$out/$name-capacity.json"
  cap=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['success_rps']))" "$out/$name-capacity.json")
  echo "$cap" > "$out/$name-capacity.txt"
  lt --url "$url" --concurrency 512 --warmup 2s --duration 5s --json-out "$out/$name-capacity512.json"
  probe "$url" "$out/$name-body.json" 200 3 "$out/$name-unloaded-probe.jsonl"
  lt --url "$url" --rate $((cap / 10)) --duration 3s --json-out "$out/$name-unloaded.json"
  rss $pid > "$out/$name-unloaded-rss.txt"
  for c in "${cases[@]}"; do
    IFS=: read -r label m conns <<< "$c"
    tag="$name-$label"
    scrape "$out/metrics-$tag-before.txt"
    ( peak=0; while kill -0 $pid 2>/dev/null && [ ! -e "$out/$tag.stop" ]; do
        r=$(rss $pid); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.02; done; echo $peak > "$out/$tag-peak-rss.txt" ) &
    sampler=$!
    probe "$url" "$out/$name-body.json" 200 $((burst + 5)) "$out/$tag-probe.jsonl" &
    prober=$!
    sleep 1
    python3 -c 'import time; print(time.time())' > "$out/$tag.start"
    lt --url "$url" --rate $((cap * m)) --max-inflight "$conns" --duration "${burst}s" --timeout 10s \
      --json-out "$out/$tag.json" || true
    python3 -c 'import time; print(time.time())' > "$out/$tag.end"
    scrape "$out/metrics-$tag-after.txt"
    wait $prober
    touch "$out/$tag.stop"; wait $sampler
    sleep 1
  done
  kill $pid; wait $pid 2>/dev/null || true
done
python3 bench/overload/analyze.py "$out"
