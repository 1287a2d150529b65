#!/usr/bin/env bash
# compare_wrk.sh: run cmd/loadtest (closed loop) and wrk against the same
# endpoint, with the same duration and concurrency, and print both
# throughputs and their ratio. Exits 1 when they differ by more than the
# tolerance (default 15%).
#
# usage: bench/loadtest/compare_wrk.sh [-u URL] [-b BODY_FILE] [-d SECONDS]
#                                      [-c CONNECTIONS] [-t WRK_THREADS]
#                                      [-r ROUNDS] [-x TOLERANCE] [-s SPIN] [-g]
#
# Without -u it builds bench/loadtest/echoserver and starts it on
# 127.0.0.1:18501 (a tiny fasthttp server with a fixed JSON answer; -s 50us
# makes it burn 50 us of CPU per request, like a small model).
# Without -b it posts {"instances": [1.0, 2.0, 5.0]}.
# loadtest runs with --threads equal to wrk's -t; -g makes it use its
# goroutine-per-connection client instead of its event loops.
# Each round runs both (order alternating between rounds); the medians are
# compared (best of each printed too). Needs: go, wrk (apt-get install -y wrk), python3.
set -euo pipefail

url="" body="" dur=10 conns=16 threads=2 rounds=1 tol=0.15 spin=0 lt_flags=""
while getopts "u:b:d:c:t:r:x:s:gh" opt; do
	case $opt in
	u) url=$OPTARG ;;
	b) body=$OPTARG ;;
	d) dur=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) threads=$OPTARG ;;
	r) rounds=$OPTARG ;;
	x) tol=$OPTARG ;;
	s) spin=$OPTARG ;;
	g) lt_flags="--client goroutine" ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done
(( threads > conns )) && threads=$conns

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
server_pid=""
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/loadtest" ./cmd/loadtest)
if [[ -z $url ]]; then
	(cd "$root" && go build -o "$tmp/echoserver" ./bench/loadtest/echoserver)
	"$tmp/echoserver" -addr 127.0.0.1:18501 -spin "$spin" 2>"$tmp/echoserver.log" &
	server_pid=$!
	url="http://127.0.0.1:18501/v1/models/echo:predict"
	for _ in $(seq 50); do
		curl -s -o /dev/null "$url" 2>/dev/null && break
		sleep 0.1
	done
fi
if [[ -z $body ]]; then
	body="$tmp/body.json"
	printf '{"instances": [1.0, 2.0, 5.0]}' >"$body"
fi

cat >"$tmp/post.lua" <<'EOF'
local f = assert(io.open(os.getenv("WRK_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF

# cpu_per_req N: the last command's user+sys CPU (from $tmp/time.txt) per
# request, in microseconds.
cpu_per_req() { awk -v n="$1" '{printf "%.1f", ($1 + $2) * 1e6 / n}' "$tmp/time.txt"; }
run_wrk() {
	WRK_BODY_FILE=$body /usr/bin/time -f "%U %S" -o "$tmp/time.txt" \
		wrk -t "$threads" -c "$conns" -d "${dur}s" -s "$tmp/post.lua" "$url" >"$tmp/wrk.txt"
	wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")
	non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/wrk.txt")
	wrk_cpu=$(cpu_per_req "$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")")
}
run_lt() {
	/usr/bin/time -f "%U %S" -o "$tmp/time.txt" \
		"$tmp/loadtest" --url "$url" --body "$body" --concurrency "$conns" --threads "$threads" --duration "${dur}s" $lt_flags \
		--quiet --json-out "$tmp/lt.json" >/dev/null 2>"$tmp/lt.log"
	read -r lt_rps lt_errs lt_n < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["throughput_rps"], sum(r["errors"].values()), r["requests"])' "$tmp/lt.json")
	lt_cpu=$(cpu_per_req "$lt_n")
}
all_wrk="" all_lt="" all_wrk_cpu="" all_lt_cpu=""
for round in $(seq "$rounds"); do
	# Alternate the order so that drifting background load hits both alike.
	if (( round % 2 == 1 )); then run_wrk; run_lt; else run_lt; run_wrk; fi
	printf 'round %d: wrk %.1f req/s (non-2xx %s, %s us CPU/req), loadtest %.1f req/s (errors %s, %s us CPU/req)\n' \
		"$round" "$wrk_rps" "${non2xx:-0}" "$wrk_cpu" "$lt_rps" "$lt_errs" "$lt_cpu"
	all_wrk="$all_wrk $wrk_rps" all_lt="$all_lt $lt_rps"
	all_wrk_cpu="$all_wrk_cpu $wrk_cpu" all_lt_cpu="$all_lt_cpu $lt_cpu"
done

python3 - "$all_wrk" "$all_lt" "$tol" "$url" "$conns" "$dur" "$threads" "$all_wrk_cpu" "$all_lt_cpu" "${lt_flags:---client eventloop}" <<'EOF'
import statistics, sys
wrk = [float(x) for x in sys.argv[1].split()]
lt = [float(x) for x in sys.argv[2].split()]
tol = float(sys.argv[3])
url, conns, dur, threads = sys.argv[4:8]
wcpu = statistics.median(float(x) for x in sys.argv[8].split())
lcpu = statistics.median(float(x) for x in sys.argv[9].split())
print(f"url={url} connections={conns} duration={dur}s threads={threads} rounds={len(wrk)} loadtest {sys.argv[10]}")
print(f"client CPU per request (median): wrk {wcpu:.1f} us, loadtest {lcpu:.1f} us ({lcpu / wcpu:.2f}x)")
ok = True
for name, f in (("best", max), ("median", statistics.median)):
    w, l = f(wrk), f(lt)
    ratio = l / w if w > 0 else float("nan")
    print(f"{name}: wrk_rps={w:.1f} loadtest_rps={l:.1f} ratio={ratio:.3f}")
    if name == "median":
        ok = abs(ratio - 1) <= tol
print(f"tolerance={tol:.0%} (on median) {'AGREE' if ok else 'DISAGREE'}")
sys.exit(0 if ok else 1)
EOF
