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
# TFSERVE_BIN and BARE_BIN, when set, are prebuilt binaries to use instead.
if [ -n "${TFSERVE_BIN:-}" ]; then cp "$TFSERVE_BIN" "$OUT/tfserve"; else go build -o "$OUT/tfserve" ./cmd/tfserve; fi
if [ -n "${BARE_BIN:-}" ]; then cp "$BARE_BIN" "$OUT/bare"; else go build -o "$OUT/bare" ./bench/rest/bare; fi
if [ -z "${TFSERVE_BIN:-}" ] || [ ! -d "$OUT/models/half_plus_two" ]; then go run ./cmd/mkmodels -out "$OUT/models"; fi
cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"instances": [1.0, 2.0, 5.0]}'
wrk.headers["Content-Type"] = "application/json"
LUA
${TFSERVE_ENV:-} "$OUT/tfserve" --rest_api_port=18501 --port=0 --model_name=half_plus_two --model_base_path="$OUT/models/half_plus_two" 2>"$OUT/tfserve.log" &
TF=$!
"$OUT/bare" -addr 127.0.0.1:18600 &
BARE=$!
trap 'kill $TF $BARE 2>/dev/null || true' EXIT
for i in $(seq 1 100); do curl -sf localhost:18501/v1/models/half_plus_two >/dev/null && break; sleep 0.1; done
curl -sf -d '{"instances": [1.0, 2.0, 5.0]}' localhost:18501/v1/models/half_plus_two:predict
# Alternate the two targets for ROUNDS rounds (the shared machine drifts);
# report the median round of each and the median of the per-round ratios.
ROUNDS=${ROUNDS:-5}
wrk -t1 -c4 -d2s -s "$OUT/post.lua" http://127.0.0.1:18501/v1/models/half_plus_two:predict >/dev/null
wrk -t1 -c4 -d2s -s "$OUT/post.lua" http://127.0.0.1:18600/ >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s "$OUT/post.lua" http://127.0.0.1:18600/ > "$OUT/bare.$r.txt"
  wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency -s "$OUT/post.lua" http://127.0.0.1:18501/v1/models/half_plus_two:predict > "$OUT/tfserve.$r.txt"
done
/usr/bin/python3 - "$OUT" "$ROUNDS" "$DUR" "$CONN" "$THREADS" > bench/rest/RESULTS.md <<'PY'
import re, sys, statistics, datetime, subprocess, os
out, rounds, dur, conn, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def parse(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
    return rps, lat.get("50", "?"), lat.get("99", "?")
bare = [parse(f"{out}/bare.{r}.txt") for r in range(1, rounds + 1)]
tf = [parse(f"{out}/tfserve.{r}.txt") for r in range(1, rounds + 1)]
ratios = [t[0] / b[0] for b, t in zip(bare, tf)]
med = lambda xs: sorted(xs, key=lambda x: x[0])[len(xs) // 2]
cpu = subprocess.run("lscpu | awk -F: '/Model name/ {print $2}'", shell=True, capture_output=True, text=True).stdout.strip()
print("# REST benchmark: tfserve half_plus_two vs a bare fasthttp handler\n")
print(f"- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%MZ}; machine: {cpu}, {os.cpu_count()} cores (wrk, server and peer share them); load average {open('/proc/loadavg').read().split()[0]}")
print(f"- command: `bench/rest/run.sh {dur} {conn} {threads}` (wrk -t{threads} -c{conn} -d{dur}s, POST {{\"instances\": [1.0, 2.0, 5.0]}}, loopback, {rounds} alternating rounds)\n")
print("| target | median req/s | p50 (median round) | p99 (median round) | all rounds req/s |")
print("|---|---|---|---|---|")
for name, rows in (("bare fasthttp (fixed JSON)", bare), ("tfserve half_plus_two predict", tf)):
    m = med(rows)
    print(f"| {name} | {m[0]:.0f} | {m[1]} | {m[2]} | {', '.join(f'{r[0]:.0f}' for r in rows)} |")
print(f"\nreq/s ratio tfserve / bare: median of the per-round ratios **{statistics.median(ratios):.3f}** "
      f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.8, issue 16)")
PY
cat bench/rest/RESULTS.md
