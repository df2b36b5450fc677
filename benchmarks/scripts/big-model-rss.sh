#!/usr/bin/env bash
# Peak resident memory (VmHWM) of a federate server moving a big noop model: 2 clients, 2 rounds.
# Usage: benchmarks/scripts/big-model-rss.sh [PARAMETERS] [PORT]   (default noop:300000000 = 1.2 GB, port 19200)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300000000}
PORT=${2:-19200}
F=src/Federate.Cli/bin/Release/net10.0/federate.dll
[ -f "$F" ] || dotnet build src/Federate.Cli -c Release >/dev/null
WORK=$(mktemp -d)
dotnet "$F" server --port "$PORT" --host 127.0.0.1 --min-clients 2 --rounds 2 --model "noop:$N" --insecure --out "$WORK/out" >"$WORK/server.log" 2>&1 &
SP=$!
for i in 0 1; do
  dotnet "$F" client --server "127.0.0.1:$PORT" --insecure --model "noop:$N" --dataset-id "$i" --num-partitions 2 >"$WORK/client$i.log" 2>&1 &
done
peak=0
start=$(date +%s.%N)
while kill -0 "$SP" 2>/dev/null; do
  h=$(awk '/VmHWM/ {print $2}' "/proc/$SP/status" 2>/dev/null || true)
  if [ -n "$h" ] && [ "$h" -gt "$peak" ]; then peak=$h; fi
  sleep 0.2
done
wait "$SP"
end=$(date +%s.%N)
grep -E "round [0-9]+:" "$WORK/server.log"
model_mb=$(echo "$N * 4 / 1000000" | bc)
echo "model: noop:$N ($model_mb MB); server peak RSS (VmHWM): $((peak / 1024)) MiB; wall time $(echo "$end - $start" | bc) s"
wait
rm -rf "$WORK"
