#!/bin/sh
# Runs the ann benchmark: tfserve ann (Go) and faiss/hnswlib (Python) on
# Fashion-MNIST (Debian dataset-fashion-mnist) as squared L2 and as inner
# product on normalised vectors, and on the LaBSE vectors of the ScaNN fixture,
# one core each, then writes RESULTS.md and
# recall_qps.png next to this script.
#
#   sh bench/ann/run.sh            (from the repository root)
#
# Needs: apt-get install dataset-fashion-mnist python3-faiss python3-hnswlib
# python3-numpy python3-matplotlib libopenblas0-pthread
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${ANNBENCH_WORK:-/tmp/annbench}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 GOMAXPROCS=1
mkdir -p "$work/cache"
out="$work/results.jsonl"
: > "$out"

[ -f "$work/fashion-mnist-784-ip/gt.npy" ] || /usr/bin/python3 "$here/peers.py" prepare "$work"
(cd "$root" && go build -o "$work/annbench" ./bench/ann/annbench)

for m in l2 ip; do
  d="$work/fashion-mnist-784-$m"
  metric=squared_l2; [ "$m" = ip ] && metric=dot_product
  "$work/annbench" -dir "$d" -metric "$metric" -out "$out" -cache "$work/cache" \
    -builds "${ANN_BUILDS:-200:2,200:2:i8}" -leaves "${ANN_LEAVES:-2,3,4,6,8,12}" -reorder "${ANN_REORDER:-0,20,50,100}"
  /usr/bin/python3 "$here/peers.py" run "$d" "$metric" "$out"
done

# The second data set: the 14,357 LaBSE vectors reconstructed from the ScaNN
# fixture (inner product), with 1,000 queries near datapoints.
d="$work/labse-768-ip"
[ -f "$d/gt.npy" ] || (cd "$root" && go run ./bench/ann/labse -out "$d")
"$work/annbench" -dir "$d" -metric dot_product -out "$out" -cache "$work/cache" \
  -builds "${ANN_LABSE_BUILDS:-120:2,120:2:i8}" -leaves "${ANN_LEAVES:-2,3,4,6,8,12}" -reorder "${ANN_REORDER:-0,20,50,100}"
/usr/bin/python3 "$here/peers.py" run "$d" dot_product "$out"

cp "$out" "$here/results.jsonl"
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average at end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
/usr/bin/python3 "$here/report.py" "$here/results.jsonl" "$here/RESULTS.md" "$here/recall_qps.png" "sh bench/ann/run.sh" "$machine"
echo "wrote $here/RESULTS.md and $here/recall_qps.png"
