#!/usr/bin/env bash
# Benchmarks tfserve's CPU kernels against numpy on the same shapes (float32)
# and prints ns/op for both and the ratio ours/numpy (lower is better).
# Usage: bench/kernels/run.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
PY=${PY:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO test -run '^$' -bench 'AddF32|MulF32|SigmoidF32|SumLastAxisF32|MatMulF32_256' -benchtime 1s -count 1 ./kernels/ \
  | awk '/^Benchmark/ {sub(/^Benchmark/, "", $1); sub(/-[0-9]+$/, "", $1); print $1, $3}' > "$tmp/go.txt"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $PY bench/kernels/numpy_peer.py > "$tmp/np.txt"
printf "%-22s %12s %12s %8s\n" case "ours ns/op" "numpy ns/op" ratio
join <(sort "$tmp/go.txt") <(sort "$tmp/np.txt") | while read -r name ours np; do
  printf "%-22s %12s %12s %8.2f\n" "$name" "$ours" "$np" "$(echo "$ours / $np" | bc -l)"
done
