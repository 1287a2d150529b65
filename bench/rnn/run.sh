#!/bin/sh
# Benchmarks tfserve's fused GRU and LSTM kernels against torch.nn.GRU and
# torch.nn.LSTM and our SGEMM against numpy/OpenBLAS, all on one core, checks
# our outputs against torch's on the same weights and inputs, times the row
# split of many-row calls on 1 and 2 cores, and writes bench/rnn/RESULTS.md.
# Needs Debian python3-torch, python3-numpy, libopenblas0-pthread and taskset
# (util-linux):
#   apt-get install -y python3-torch python3-numpy libopenblas0-pthread
# Usage (from the repository root): sh bench/rnn/run.sh
# On a shared machine hold the benchmark lock around it:
#   flock /tmp/tfserve-bench.lock sh bench/rnn/run.sh
# MINTIME (seconds per repetition, default 0.08) and REPS (default 5) tune
# the run length; the default run takes about 3-5 minutes. Each time kept is
# the best repetition, so more, shorter repetitions resist noise from other
# processes on a shared machine better. The two-core part needs 2 CPUs.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MINTIME=${MINTIME:-0.08}
REPS=${REPS:-5}
export MINTIME REPS OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

load() { echo "$1: $(uptime)" >>"$tmp/loads.txt"; }
go build -o "$tmp/rnnbench" ./bench/rnn
"$tmp/rnnbench" -check "$tmp/check.json"
/usr/bin/python3 bench/rnn/torch_rnn.py check "$tmp/check.json" | tee "$tmp/check.txt"
load "single-core, ours"
GOMAXPROCS=1 "$tmp/rnnbench" -mintime "$MINTIME" -reps "$REPS" -out "$tmp/go.json"
load "single-core, torch"
/usr/bin/python3 bench/rnn/torch_rnn.py bench "$tmp/torch.json"
load "two cores, in-process"
"$tmp/rnnbench" -cores 1,2 -mintime "$MINTIME" -reps "$REPS" -out "$tmp/cores.json"
load "two cores, pinned 1"
GOMAXPROCS=1 taskset -c 0 "$tmp/rnnbench" -cores 1 -mintime "$MINTIME" -reps "$REPS" -out "$tmp/pin1.json"
load "two cores, pinned 2"
GOMAXPROCS=2 taskset -c 0,1 "$tmp/rnnbench" -cores 2 -mintime "$MINTIME" -reps "$REPS" -out "$tmp/pin2.json"
load "end"
for f in go torch cores pin1 pin2; do cp "$tmp/$f.json" "bench/rnn/$f.json"; done
cp "$tmp/check.txt" "$tmp/loads.txt" bench/rnn/
machine="$(lscpu | grep "Model name" | sed "s/Model name: *//") ($(getconf _NPROCESSORS_ONLN) CPUs)"
/usr/bin/python3 bench/rnn/report.py bench/rnn/go.json bench/rnn/torch.json bench/rnn/check.txt bench/rnn/cores.json \
  bench/rnn/pin1.json bench/rnn/pin2.json bench/rnn/loads.txt \
  "sh bench/rnn/run.sh (MINTIME=$MINTIME REPS=$REPS)" "$machine" > bench/rnn/RESULTS.md
echo "wrote bench/rnn/RESULTS.md"
