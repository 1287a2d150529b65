#!/usr/bin/env bash
# REST predict throughput of tfserve on TF Serving's half_plus_two fixture,
# measured with wrk over loopback, plus the in-process Go benchmarks of the
# REST handler. Usage: bench/server/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
fixture=../shared/fixtures/tfserving/servables/tensorflow/testdata/saved_model_half_plus_two_cpu
port=18599
go build -o /tmp/tfserve-bench ./cmd/tfserve
/tmp/tfserve-bench --model_name=half --model_base_path="$fixture" --rest_api_port=$port 2>/tmp/tfserve-bench.log &
pid=$!
trap 'kill $pid' EXIT
for _ in $(seq 50); do curl -sf localhost:$port/readyz >/dev/null && break; sleep 0.1; done
cat > /tmp/tfserve-bench.lua <<'LUA'
wrk.method = "POST"
wrk.body = '{"instances": [[1.0], [2.0], [5.0], [7.0]]}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "== wrk -t2 -c32 -d${secs}s POST /v1/models/half:predict (4 rows)"
wrk -t2 -c32 -d"${secs}s" --latency -s /tmp/tfserve-bench.lua "http://127.0.0.1:$port/v1/models/half:predict"
echo "== go test -bench (in-process handler, fake model)"
go test -run '^$' -bench . -benchtime 20000x ./server/restapi/
