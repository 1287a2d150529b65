#!/usr/bin/env bash
# Overload bench (issue 18): tfserve pinned to core 0, bin/loadtest open loop
# pinned to core 1, offered 1x, 2x and 4x the measured capacity of each model.
# Reports accepted throughput, refusal rate, server-side p50/p99 of accepted
# requests (request_latency histogram), client-side p50/p99 of all answers,
# peak RSS, and the time after the burst until probes see unloaded latency.
# Usage: bench/overload/run.sh [burst-seconds] [extra tfserve flags...]
#   e.g. bench/overload/run.sh 5 --enable_admission_control=false
# Writes bench/overload/out/{*.json,metrics-*.txt,results.json,overload.svg}.
set -euo pipefail
cd "$(dirname "$0")/../.."
burst=${1:-5}; shift || true
out=bench/overload/out
rm -rf "$out"; mkdir -p "$out"
go build -o bin/tfserve ./cmd/tfserve
go build -o bin/loadtest ./cmd/loadtest
fx=../shared/fixtures
models=("half_plus_two=$fx/tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu"
        "christopher_stock=$fx/keras/gru/christopher_stock")
port=18611
mon=$out/monitoring.config
echo 'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }' > "$mon"
lt() { taskset -c 1 bin/loadtest --quiet "$@"; }
scrape() { curl -sf "http://127.0.0.1:$port/monitoring/prometheus/metrics" > "$1"; }
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
for spec in "${models[@]}"; do
  name=${spec%%=*}; path=${spec#*=}
  taskset -c 0 bin/tfserve --model_name="$name" --model_base_path="$path" --rest_api_port=$port --port=0 \
    --monitoring_config_file="$mon" "$@" 2>"$out/server-$name.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
  url="http://127.0.0.1:$port/v1/models/$name:predict"
  lt --url "$url" --concurrency 16 --warmup 1s --duration 3s --json-out "$out/$name-capacity.json"
  cap=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['success_rps']))" "$out/$name-capacity.json")
  probe=$((cap / 10))
  lt --url "$url" --rate "$probe" --duration 3s --json-out "$out/$name-unloaded.json"
  echo "$(rss $pid)" > "$out/$name-unloaded-rss.txt"
  for m in 1 2 4; do
    tag="$name-x$m"
    scrape "$out/metrics-$tag-before.txt"
    ( peak=0; while kill -0 $pid 2>/dev/null && [ ! -e "$out/$tag.stop" ]; do
        r=$(rss $pid); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.02; done; echo $peak > "$out/$tag-peak-rss.txt" ) &
    sampler=$!
    lt --url "$url" --rate $((cap * m)) --duration "${burst}s" --timeout 10s --json-out "$out/$tag.json" || true
    end=$(date +%s%N)
    scrape "$out/metrics-$tag-after.txt"
    # Recovery: back-to-back 100 ms probes at a tenth of capacity.
    for i in $(seq 10); do
      t0=$(date +%s%N)
      lt --url "$url" --rate "$probe" --duration 100ms --json-out "$out/$tag-probe$i.json" || true
      echo $(( (t0 - end) / 1000000 )) > "$out/$tag-probe$i.offset_ms"
    done
    touch "$out/$tag.stop"; wait $sampler
    sleep 1
  done
  echo "$cap" > "$out/$name-capacity.txt"
  kill $pid; wait $pid 2>/dev/null || true
done
python3 bench/overload/analyze.py "$out"
