#!/bin/sh
# Runs the ann benchmark: tfserve ann (Go) and faiss/hnswlib (Python) on
# Fashion-MNIST (Debian dataset-fashion-mnist) as squared L2 and as inner
# product on normalised vectors, and on the LaBSE vectors of the ScaNN fixture,
# one core each (searches pinned with taskset / sched_setaffinity to CPU
# $ANN_PIN_CPU, default the last one), then writes RESULTS.md and
# recall_qps.png next to this script. Built indexes are cached in
# $ANNBENCH_WORK/cache; run.sh empties it so that every index is built by
# the code under test.
#
#   sh bench/ann/run.sh            (from the repository root)
#
# Needs: apt-get install dataset-fashion-mnist python3-faiss python3-hnswlib
# python3-numpy python3-matplotlib libopenblas0-pthread util-linux (taskset)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${ANNBENCH_WORK:-/tmp/annbench}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 GOMAXPROCS=1
# nproc --all: plain nproc honours OMP_NUM_THREADS (1 here).
cores=$(nproc --all)
export ANN_PIN_CPU=${ANN_PIN_CPU:-$((cores - 1))}
pin="taskset -c $ANN_PIN_CPU"
rm -rf "$work/cache"
mkdir -p "$work/cache"
out="$work/results.jsonl"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
: > "$out"

[ -f "$work/fashion-mnist-784-ip/gt.npy" ] || /usr/bin/python3 "$here/peers.py" prepare "$work"
(cd "$root" && go build -o "$work/annbench" ./bench/ann/annbench)

for m in l2 ip; do
  d="$work/fashion-mnist-784-$m"
  metric=squared_l2; [ "$m" = ip ] && metric=dot_product
  builds=${ANN_BUILDS:-200:2,200:2:i8,200:2:f16}
  # Inner product on unit vectors: spherical partitioning (and plain k-means
  # ranked by q·c, ScaNN's default, for comparison).
  [ "$m" = ip ] && builds=${ANN_IP_BUILDS:-200:2,200:2:sph,200:2:sph:i8,200:2:sph:f16}
  $pin "$work/annbench" -dir "$d" -metric "$metric" -out "$out" -cache "$work/cache" \
    -builds "$builds" -leaves "${ANN_LEAVES:-2,3,4,5,6,8,12,16,24,32}" -reorder "${ANN_REORDER:-0,20,30,50,100}"
  /usr/bin/python3 "$here/peers.py" run "$d" "$metric" "$out"
done

# The second data set: the 14,357 LaBSE vectors reconstructed from the ScaNN
# fixture (inner product), with 1,000 queries near datapoints.
d="$work/labse-768-ip"
[ -f "$d/gt.npy" ] || (cd "$root" && go run ./bench/ann/labse -out "$d")
$pin "$work/annbench" -dir "$d" -metric dot_product -out "$out" -cache "$work/cache" \
  -builds "${ANN_LABSE_BUILDS:-120:2,120:2:i8,120:2:f16}" -leaves "${ANN_LABSE_LEAVES:-4,6,8,12,16,24,32,40,48,64,96,120}" \
  -reorder "${ANN_REORDER:-0,20,30,50,100}"
/usr/bin/python3 "$here/peers.py" run "$d" dot_product "$out"

cp "$out" "$here/results.jsonl"
machine="$cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), searches pinned to CPU $ANN_PIN_CPU, load average at start: $load0, at end: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
/usr/bin/python3 "$here/report.py" "$here/results.jsonl" "$here/RESULTS.md" "$here/recall_qps.png" "sh bench/ann/run.sh" "$machine"
echo "wrote $here/RESULTS.md and $here/recall_qps.png"
