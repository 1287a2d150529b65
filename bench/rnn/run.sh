#!/bin/sh
# Benchmarks tfserve's GRU kernel against torch.nn.GRU and our SGEMM against
# numpy/OpenBLAS, all on one core, and writes bench/gru/RESULTS.md.
# Needs Debian python3-torch, python3-numpy and libopenblas0-pthread:
#   apt-get install -y python3-torch python3-numpy libopenblas0-pthread
# Usage (from the repository root): sh bench/gru/run.sh
# MINTIME (seconds per repetition, default 0.08) and REPS (default 5) tune
# the run length; the default run takes about 1-3 minutes. Each time kept is
# the best repetition, so more, shorter repetitions resist noise from other
# processes on a shared machine better.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MINTIME=${MINTIME:-0.08}
REPS=${REPS:-5}
export MINTIME REPS OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
go build -o "$tmp/grubench" ./bench/gru
"$tmp/grubench" -check "$tmp/check.json"
/usr/bin/python3 bench/gru/torch_gru.py check "$tmp/check.json" | tee "$tmp/check.txt"
GOMAXPROCS=1 "$tmp/grubench" -mintime "$MINTIME" -reps "$REPS" -out "$tmp/go.json"
/usr/bin/python3 bench/gru/torch_gru.py bench "$tmp/torch.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
machine="$(lscpu | grep "Model name" | sed "s/Model name: *//") ($(getconf _NPROCESSORS_ONLN) CPUs, single-thread runs; load average before/after: $load_before / $load_after)"
/usr/bin/python3 bench/gru/report.py "$tmp/go.json" "$tmp/torch.json" "$tmp/check.txt" \
  "sh bench/gru/run.sh (MINTIME=$MINTIME REPS=$REPS)" "$machine" > bench/gru/RESULTS.md
cp "$tmp/go.json" bench/gru/go.json
cp "$tmp/torch.json" bench/gru/torch.json
echo "wrote bench/gru/RESULTS.md"
