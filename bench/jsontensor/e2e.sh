#!/bin/sh
# e2e.sh BEFORE [AFTER]: end-to-end p50 of the 64-row keras/gru/beagle_music_genre
# REST predict (the first golden instance repeated 64 times: 108,160 numbers,
# about 700 KB of JSON), served by tfserve built at commit BEFORE and at
# commit AFTER (default HEAD), alternating: ROUNDS (default 3) rounds of
# `loadtest --concurrency 1 --duration 4s --warmup 1s` against each. Prints
# each round's p50 and the medians. Needs ../shared/fixtures. Run from the
# repository root. With LOCK=FILE set, the builds run first and the
# measurements under flock FILE (e.g. LOCK=/tmp/tfserve-bench.lock on shared
# machines).
set -e
before=${1:?usage: e2e.sh BEFORE [AFTER]}
after=${2:-HEAD}
tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	git worktree remove --force "$tmp/before" 2>/dev/null || true
	git worktree remove --force "$tmp/after" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fx=$(realpath ../shared/fixtures/keras/gru/beagle_music_genre)
for v in before after; do
	eval c=\$$v
	git worktree add --detach "$tmp/$v" "$c" >/dev/null 2>&1
	(cd "$tmp/$v" && go build -o "$tmp/tfserve_$v" ./cmd/tfserve)
done
go build -o "$tmp/loadtest" ./cmd/loadtest
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["cases"][0]["request"]
print(json.dumps({"instances": r["instances"][:1] * 64}))' "$fx/golden.json" >"$tmp/body.json"
if [ -n "$LOCK" ]; then
	exec 9>"$LOCK"
	flock 9
fi
echo "body: $(wc -c <"$tmp/body.json") bytes; before $(git rev-parse --short "$before"), after $(git rev-parse --short "$after")"
uptime
port=18871
for round in $(seq "${ROUNDS:-3}"); do
	for v in before after; do
		"$tmp/tfserve_$v" --rest_api_port=$port --port=0 --model_name=beagle --model_base_path="$fx" 2>"$tmp/$v.log" &
		pid=$!
		for _ in $(seq 1 300); do
			curl -sf "http://127.0.0.1:$port/v1/models/beagle" 2>/dev/null | grep -q AVAILABLE && break
			sleep 0.1
		done
		"$tmp/loadtest" --url "http://127.0.0.1:$port/v1/models/beagle:predict" --body "$tmp/body.json" \
			--concurrency 1 --duration 4s --warmup 1s --quiet --csv-out "$tmp/$v-$round.csv" >/dev/null
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=""
		p50=$(/usr/bin/python3 -c 'import csv, sys; r = list(csv.DictReader(open(sys.argv[1]))); print(r[0]["latency_p50_ms"], r[0]["requests"], r[0]["errors"] if "errors" in r[0] else "")' "$tmp/$v-$round.csv")
		echo "round $round $v p50_ms requests errors: $p50"
		echo "$v $p50" >>"$tmp/p50.txt"
	done
done
uptime
/usr/bin/python3 -c '
import statistics, sys
d = {}
for l in open(sys.argv[1]):
    f = l.split()
    d.setdefault(f[0], []).append(float(f[1]))
print("median p50 ms: before %.2f, after %.2f (%.2fx)" % (statistics.median(d["before"]), statistics.median(d["after"]), statistics.median(d["before"]) / statistics.median(d["after"])))' "$tmp/p50.txt"
