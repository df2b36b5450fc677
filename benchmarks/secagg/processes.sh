#!/usr/bin/env bash
# Secure aggregation with real processes: one `federate server` (127.0.0.1, free ports) and N `federate client`
# processes, plain FedAvg against --secagg, same seed and model. Prints per configuration: median seconds per round
# (history.json), server CPU seconds and the clients' total CPU seconds (from /usr/bin/time), final accuracy, and the
# secagg/plain ratios.
#
# Usage: benchmarks/secagg/processes.sh [--clients N] [--rounds R] [--model SPEC] [--dataset NAME]
#   default: --clients 20 --rounds 3 --model noop:1000000 --dataset digits
set -euo pipefail
cd "$(dirname "$0")/../.."
CLIENTS=20; ROUNDS=3; MODEL=noop:1000000; DATASET=digits
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --dataset) DATASET=$2; shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
dotnet build src/Federate.Cli -c Release -nologo -v:q > /dev/null
CLI=src/Federate.Cli/bin/Release/net10.0/federate.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

run() { # name, extra server args...
  local name=$1; shift
  local dir="$work/$name"; mkdir -p "$dir"
  /usr/bin/time -f "%U %S" -o "$dir/server.cpu" dotnet $CLI server --insecure --host 127.0.0.1 --port 0 --inspector-port 0 \
    --dataset "$DATASET" --model "$MODEL" --min-clients "$CLIENTS" --rounds "$ROUNDS" --seed 1 --round-timeout 600 \
    --state-dir "$dir/state" --out "$dir/out" "$@" > "$dir/server.log" 2>&1 &
  local server=$!
  local port=""
  for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$dir/server.log" | head -1)
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { cat "$dir/server.log"; exit 1; }
  local pids=()
  for i in $(seq 0 $((CLIENTS - 1))); do
    /usr/bin/time -f "%U %S" -o "$dir/client$i.cpu" dotnet $CLI client --server "127.0.0.1:$port" --insecure --dataset "$DATASET" \
      --model "$MODEL" --dataset-id "$i" --num-partitions "$CLIENTS" --seed 1 --retry-interval 0.2 > "$dir/client$i.log" 2>&1 &
    pids+=($!)
  done
  wait "$server" || { tail -20 "$dir/server.log"; exit 1; }
  wait "${pids[@]}" || true
  python3 - "$dir" "$name" "$CLIENTS" <<'PY'
import json, statistics, sys, os
d, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = json.load(open(os.path.join(d, "out", "history.json")))
secs = [r["seconds"] for r in h["rounds"]]
acc = (h["rounds"][-1].get("evaluate") or {}).get("accuracy")
def cpu(f):
    u, s = open(f).read().split()[-2:]
    return float(u) + float(s)
server = cpu(os.path.join(d, "server.cpu"))
clients = sum(cpu(os.path.join(d, f"client{i}.cpu")) for i in range(n))
print(f"{name:8} {statistics.median(secs):10.3f} {server:12.1f} {clients:13.1f} {acc if acc is not None else '-'}")
json.dump({"round": statistics.median(secs), "server": server, "clients": clients}, open(os.path.join(d, "figures.json"), "w"))
PY
}

echo "$CLIENTS client processes, model $MODEL, dataset $DATASET, $ROUNDS rounds"
echo "config   round s (med)  server CPU s  clients CPU s  accuracy"
run plain
run secagg --secagg
python3 - "$work" <<'PY'
import json, sys, os
p = json.load(open(os.path.join(sys.argv[1], "plain", "figures.json")))
s = json.load(open(os.path.join(sys.argv[1], "secagg", "figures.json")))
print(f"secagg/plain: round {s['round']/p['round']:.2f}x, server CPU {s['server']/p['server']:.2f}x, clients CPU {s['clients']/p['clients']:.2f}x")
PY
