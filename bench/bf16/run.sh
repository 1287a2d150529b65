#!/bin/sh
# bench/bf16: opt-in bf16 weights ("precision": "bf16") against the float32
# kernels, in one run: the fused GRU (BenchmarkGRU's layer, [B, 20, 64]
# inputs, 128 units, one goroutine) at batch 1, 8, 64; the matrix kernel
# alone (bf16 MatMul vs the packed SGEMM); every GRU fixture's first golden
# request end to end. Prints the median of COUNT runs and the fp32/bf16
# ratios. Run under the bench lock: flock /tmp/tfserve-bench.lock sh bench/bf16/run.sh
set -eu
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-5}
GO=${GO:-go}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load before: $(uptime)"
$GO test -run '^$' -bench '^BenchmarkGRUBF16$' -benchtime ${BT:-0.5s} -count "$COUNT" ./kernels/rnn/ >>"$out"
$GO test -run '^$' -bench '^BenchmarkMatMul$' -benchtime ${BT:-0.5s} -count "$COUNT" ./kernels/bf16/ >>"$out"
$GO test -run '^$' -bench '^BenchmarkGoldenPrecision$' -benchtime ${BT:-0.5s} -count "$COUNT" ./loader/ 2>/dev/null >>"$out"
echo "load after:  $(uptime)"
grep '^cpu:' "$out" | head -1
# name (GOMAXPROCS suffix dropped) → median ns/op; then pair fp32 with bf16.
grep '^Benchmark' "$out" | awk '{ sub(/-[0-9]+$/, "", $1); print $1, $3 }' | sort -k1,1 -k2,2n | awk '
	{ v[$1] = v[$1] " " $2; n[$1]++ }
	END {
		for (k in v) {
			split(substr(v[k], 2), a, " ")
			med[k] = a[int((n[k] + 1) / 2)]
		}
		for (k in med) {
			if (k !~ /bf16/) continue
			f = k; sub(/bf16/, "fp32", f)
			if (!(f in med)) continue
			printf "%-60s fp32 %10.0f ns  bf16 %10.0f ns  fp32/bf16 %.2fx\n", k, med[f], med[k], med[f] / med[k]
		}
	}' | sort
