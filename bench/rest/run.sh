#!/usr/bin/env bash
# REST benchmark (issue: foundation): wrk against tfserve serving half_plus_two
# and against a bare fasthttp handler returning a fixed JSON body, same client,
# same run. Writes bench/rest/RESULTS.md.
#   usage: bench/rest/run.sh [duration_s] [connections] [threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}; CONN=${2:-32}; THREADS=${3:-2}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
OUT=bench/rest/out; mkdir -p "$OUT"
go build -o "$OUT/tfserve" ./cmd/tfserve
go build -o "$OUT/bare" ./bench/rest/bare
go run ./cmd/mkmodels -out "$OUT/models"
cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"instances": [1.0, 2.0, 5.0]}'
wrk.headers["Content-Type"] = "application/json"
LUA
"$OUT/tfserve" --rest_api_port=18501 --port=0 --model_name=half_plus_two --model_base_path="$OUT/models/half_plus_two" 2>"$OUT/tfserve.log" &
TF=$!
"$OUT/bare" -addr 127.0.0.1:18600 &
BARE=$!
trap 'kill $TF $BARE 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -sf localhost:18501/v1/models/half_plus_two >/dev/null && break; sleep 0.1; done
curl -sf -d '{"instances": [1.0, 2.0, 5.0]}' localhost:18501/v1/models/half_plus_two:predict
run() { wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s "$OUT/post.lua" "$1" | tee "$2"; }
# warm up both
wrk -t1 -c4 -d2s -s "$OUT/post.lua" http://127.0.0.1:18501/v1/models/half_plus_two:predict >/dev/null
wrk -t1 -c4 -d2s -s "$OUT/post.lua" http://127.0.0.1:18600/ >/dev/null
run http://127.0.0.1:18600/ "$OUT/bare.txt"
run http://127.0.0.1:18501/v1/models/half_plus_two:predict "$OUT/tfserve.txt"
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
pct() { awk -v p="$2" '$1==p {print $2}' "$1"; }
B=$(rps "$OUT/bare.txt"); T=$(rps "$OUT/tfserve.txt")
RATIO=$(awk -v a="$T" -v b="$B" 'BEGIN {printf "%.3f", a/b}')
{
  echo "# REST benchmark: tfserve half_plus_two vs a bare fasthttp handler"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/,"",$2); print $2}'), $(nproc) cores; load average at start: $(cut -d' ' -f1 /proc/loadavg)"
  echo "- command: \`bench/rest/run.sh $DUR $CONN $THREADS\` (wrk -t$THREADS -c$CONN -d${DUR}s, POST {\"instances\": [1.0, 2.0, 5.0]}, loopback; server and client share the machine)"
  echo
  echo "| target | req/s | p50 | p99 |"
  echo "|---|---|---|---|"
  echo "| bare fasthttp (fixed JSON) | $B | $(pct "$OUT/bare.txt" 50%) | $(pct "$OUT/bare.txt" 99%) |"
  echo "| tfserve half_plus_two predict | $T | $(pct "$OUT/tfserve.txt" 50%) | $(pct "$OUT/tfserve.txt" 99%) |"
  echo
  echo "req/s ratio tfserve / bare = **$RATIO** (target >= 0.6)"
} > bench/rest/RESULTS.md
cat bench/rest/RESULTS.md
