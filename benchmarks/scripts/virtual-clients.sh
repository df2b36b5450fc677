#!/usr/bin/env bash
# Round time of N virtual clients (one process) against one server: noop:1000, 3 rounds.
# Usage: benchmarks/scripts/virtual-clients.sh [N] [PORT]   (default 100 clients, port 19300)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100}
PORT=${2:-19300}
F=src/Federate.Cli/bin/Release/net10.0/federate.dll
[ -f "$F" ] || dotnet build src/Federate.Cli -c Release >/dev/null
WORK=$(mktemp -d)
dotnet "$F" server --port "$PORT" --host 127.0.0.1 --min-clients "$N" --rounds 3 --model noop:1000 --insecure --out "$WORK/out" >"$WORK/server.log" 2>&1 &
SP=$!
dotnet "$F" client --server "127.0.0.1:$PORT" --insecure --model noop:1000 --virtual-clients "$N" --num-partitions "$N" >"$WORK/clients.log" 2>&1 &
wait "$SP"
wait
grep -E "round [0-9]+:" "$WORK/server.log" | sed -E 's/, evaluate (precision|recall|f1|dice) [0-9.]+//g'
python3 - "$WORK/out/history.json" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
for r in h["rounds"]:
    print(f"round {r['round']}: {r['clients']['results']} results, {r['clients']['failures'] if isinstance(r['clients']['failures'], int) else len(r['clients']['failures'])} failures, {r['seconds']:.3f} s (train + evaluate)")
PY
rm -rf "$WORK"
