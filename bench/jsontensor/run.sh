#!/bin/sh
# Benchmarks of the TF Serving REST JSON codec (server/restapi/jsontensor)
# with their peers in the same run:
# - every Go benchmark of the package (parse and write of a 3-float request
#   and of a [64,14,6] GRU batch against encoding/json and strconv; decode of
#   the four bodies of BenchmarkDecode, by the entry point and by the DOM
#   decoder alone);
# - rapidjson_peer.cc (g++ -O2 -DNDEBUG, as TF Serving's opt builds, against
#   Debian's rapidjson-dev 1.1.0, parsing as TF Serving parses: see the file) on the same four bodies, which the test
#   binary writes out.
# Go and C++ rounds alternate COUNT times (default 3); the summary gives each
# body's median MB/s and the ratio ours / rapidjson.
# Needs g++ and rapidjson-dev (apt-get install -y g++ rapidjson-dev). Run
# from the repository root; hold /tmp/tfserve-bench.lock on shared machines.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/jsontensor.test" ./server/restapi/jsontensor/
(cd "$tmp" && JSONTENSOR_BENCH_BODIES="$tmp" ./jsontensor.test -test.run '^TestWriteBenchBodies$' >/dev/null)
g++ -O2 -DNDEBUG -std=c++17 -o "$tmp/rapidjson_peer" bench/jsontensor/rapidjson_peer.cc
bodies="gru spark onerow strings"
uptime
for i in $(seq "${COUNT:-3}"); do
	(cd server/restapi/jsontensor && "$tmp/jsontensor.test" -test.run '^$' -test.bench "${BENCH:-.}" -test.benchmem) | tee -a "$tmp/go.txt"
	for b in $bodies; do
		"$tmp/rapidjson_peer" -mintime 1 "$tmp/$b.json"
		"$tmp/rapidjson_peer" -flags recursive -mintime 1 "$tmp/$b.json" | sed 's/^/recursive /'
	done | tee -a "$tmp/peer.txt"
done
uptime
/usr/bin/python3 - "$tmp" $bodies <<'PY'
import re, statistics, sys
tmp, bodies = sys.argv[1], sys.argv[2:]
ours, dom, rj, rjrec = {}, {}, {}, {}
for line in open(tmp + "/go.txt"):
    m = re.match(r"BenchmarkDecode/(\w+)(/dom)?-\d+\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) MB/s", line)
    if m:
        (dom if m.group(2) else ours).setdefault(m.group(1), []).append(float(m.group(4)))
for line in open(tmp + "/peer.txt"):
    f = line.split()
    rec = f[0] == "recursive"
    if rec:
        f = f[1:]
    name = f[0].rsplit("/", 1)[-1].removesuffix(".json")
    (rjrec if rec else rj).setdefault(name, []).append(float(f[3]))
med = lambda d, k: statistics.median(d[k]) if d.get(k) else float("nan")
print()
print("| body | bytes | ours MB/s | DOM-only MB/s | rapidjson MB/s (iterative flags) | ours / rapidjson | rapidjson MB/s (recursive flags) |")
print("|---|---|---|---|---|---|---|")
import os
for b in bodies:
    size = os.path.getsize(f"{tmp}/{b}.json")
    print(f"| {b} | {size} | {med(ours, b):.0f} | {med(dom, b):.0f} | {med(rj, b):.0f} | {med(ours, b) / med(rj, b):.2f} | {med(rjrec, b):.0f} |")
PY
