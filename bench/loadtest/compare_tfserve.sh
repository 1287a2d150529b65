#!/usr/bin/env bash
# Cross-checks bin/loadtest against wrk on a real tfserve endpoint: the Keras
# GRU fixture (default christopher_stock), batch-1 golden request, median of alternating
# rounds (compare_wrk.sh). Writes bench/loadtest/RESULTS-tfserve-MODEL.md.
#   usage: bench/loadtest/compare_tfserve.sh [duration_s] [connections] [rounds] [keras/gru fixture]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-5}; CONN=${2:-16}; ROUNDS=${3:-4}; MODEL=${4:-christopher_stock}
OUT=bench/loadtest/out; mkdir -p "$OUT"
FX=$(realpath ../shared/fixtures/keras/gru/$MODEL)
go build -o "$OUT/tfserve" ./cmd/tfserve
/usr/bin/python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['cases'][0]['request']))" "$FX/golden.json" > "$OUT/gru_body.json"
"$OUT/tfserve" --rest_api_port=18801 --port=0 --model_name=gru --model_base_path="$FX" 2>"$OUT/tfserve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -sf http://127.0.0.1:18801/v1/models/gru | grep -q AVAILABLE && break; sleep 0.1; done
bench/loadtest/compare_wrk.sh -u http://127.0.0.1:18801/v1/models/gru:predict -b "$OUT/gru_body.json" -d "$DUR" -c "$CONN" -r "$ROUNDS" | tee "$OUT/compare.txt" || true
{
  echo "# bin/loadtest vs wrk on tfserve (keras/gru/$MODEL, batch 1)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores shared by tfserve, wrk and loadtest; load average $(cut -d' ' -f1 /proc/loadavg)"
  echo "- GOMAXPROCS for tfserve and loadtest: ${GOMAXPROCS:-unset (all cores)}"
  echo "- command: \`bench/loadtest/compare_tfserve.sh $DUR $CONN $ROUNDS $MODEL\`"
  echo
  echo '```'
  cat "$OUT/compare.txt"
  echo '```'
} > "bench/loadtest/RESULTS-tfserve-$MODEL${GOMAXPROCS:+-procs$GOMAXPROCS}.md"
