#!/usr/bin/env bash
# matrix.sh: bin/loadtest against wrk on one tfserve serving three models
# (half_plus_two, and the keras GRU fixtures christopher_stock and
# beagle_music_genre), at several concurrencies, with both loadtest clients
# (event loops, the default, and a goroutine per connection). Each cell is
# compare_wrk.sh: alternating rounds, medians, client CPU per request.
# Writes bench/loadtest/RESULTS-matrix.md.
#   usage: bench/loadtest/matrix.sh [duration_s] [rounds] [concurrencies]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-3}; ROUNDS=${2:-5}; CONCS=${3:-1,16,64}
OUT=bench/loadtest/out; mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
FX=$(realpath ../shared/fixtures/keras/gru)
go build -o "$OUT/tfserve" ./cmd/tfserve
cat >"$OUT/matrix.config" <<CFG
model_config_list {
  config { name: "half_plus_two" base_path: "$(realpath testdata/models/half_plus_two)" model_platform: "tensorflow" }
  config { name: "christopher_stock" base_path: "$FX/christopher_stock" model_platform: "tensorflow" }
  config { name: "beagle_music_genre" base_path: "$FX/beagle_music_genre" model_platform: "tensorflow" }
}
CFG
printf '{"instances": [1.0, 2.0, 5.0]}' >"$OUT/half_plus_two.json"
for m in christopher_stock beagle_music_genre; do
	/usr/bin/python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['cases'][0]['request']))" "$FX/$m/golden.json" >"$OUT/$m.json"
done
"$OUT/tfserve" --rest_api_port=18802 --port=0 --model_config_file="$OUT/matrix.config" 2>"$OUT/matrix-tfserve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for m in half_plus_two christopher_stock beagle_music_genre; do
	for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:18802/v1/models/$m" | grep -q AVAILABLE && break; sleep 0.1; done
done
rows=""
for m in half_plus_two christopher_stock beagle_music_genre; do
	for c in ${CONCS//,/ }; do
		for client in eventloop goroutine; do
			flag=""; [ $client = goroutine ] && flag="-g"
			bench/loadtest/compare_wrk.sh -u "http://127.0.0.1:18802/v1/models/$m:predict" -b "$OUT/$m.json" \
				-d "$DUR" -c "$c" -r "$ROUNDS" $flag >"$OUT/cell.txt" || true
			cat "$OUT/cell.txt" >&2
			row=$(/usr/bin/python3 - "$OUT/cell.txt" "$m" "$c" "$client" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
med = re.search(r"median: wrk_rps=([\d.]+) loadtest_rps=([\d.]+) ratio=([\d.]+)", t)
cpu = re.search(r"wrk ([\d.]+) us, loadtest ([\d.]+) us", t)
verdict = "AGREE" if "AGREE" in t.split("tolerance")[-1] and "DISAGREE" not in t.split("tolerance")[-1] else "DISAGREE"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {float(med[1]):.0f} | {float(med[2]):.0f} | **{float(med[3]):.3f}** | {cpu[1]} | {cpu[2]} | {verdict} |")
PY
)
			echo "$row" >&2
			rows="$rows$row"$'\n'
		done
	done
done
{
	echo "# bin/loadtest against wrk: models × concurrency × client"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)) shared by tfserve, wrk and loadtest"
	echo "- command: \`bench/loadtest/matrix.sh $DUR $ROUNDS $CONCS\` ($ROUNDS alternating rounds of ${DUR} s per cell; wrk and loadtest both with 2 threads, 1 at concurrency 1)"
	echo "- ratio = loadtest median req/s ÷ wrk median req/s; CPU = client user+sys time per request (median round)"
	echo
	echo "| model | concurrency | loadtest client | wrk req/s | loadtest req/s | ratio | wrk CPU µs/req | loadtest CPU µs/req | within 15% |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s' "$rows"
} >bench/loadtest/RESULTS-matrix.md
cat bench/loadtest/RESULTS-matrix.md
