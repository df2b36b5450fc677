#!/usr/bin/env bash
# Server peak resident memory (VmHWM) per strategy and number of clients: one `federate server` on 127.0.0.1 (port 0,
# read from its log) and one `federate client --virtual-clients N` process, a noop model of P float32 parameters,
# R rounds. Prints a table: strategy, clients, peak RSS MB, ratio to the model, and the ratio without the server's
# start-up footprint (the runtime itself, measured once it listens).
#
# Usage: benchmarks/memory/run.sh [--ci] [--params P] [--rounds R] [--clients "4 8"]
#                                 [--strategies "fedavg fedadam fedavgm central-dp dp-sgd"] [--max-ratio X]
#   default: --params 100000000 (400 MB), --rounds 3, --clients "4 8", all five strategies
#   --ci:    --params 5000000 (20 MB), --rounds 2, --clients "2 4" (about a minute); with --max-ratio the script
#            fails when a run's start-up-free ratio exceeds X (the runtime's own footprint would dominate the plain
#            ratio for a small model)
set -euo pipefail
cd "$(dirname "$0")/../.."

PARAMS=100000000
ROUNDS=3
CLIENTS="4 8"
STRATEGIES="fedavg fedadam fedavgm central-dp dp-sgd"
MAX_RATIO=""
while [ $# -gt 0 ]; do
  case "$1" in
    --ci) PARAMS=5000000; ROUNDS=2; CLIENTS="2 4"; shift ;;
    --params) PARAMS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --strategies) STRATEGIES=$2; shift 2 ;;
    --max-ratio) MAX_RATIO=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

. benchmarks/scripts/fleet-run.sh
MODEL_BYTES=$((PARAMS * 4))
MODEL_MB=$(awk -v b="$MODEL_BYTES" 'BEGIN { printf "%.0f", b / 1e6 }')

run_one() { # strategy clients -> prints "peak_kib startup_kib"
  local strategy=$1 n=$2 dir="$WORK/$1-$2"
  mkdir -p "$dir"
  local flags=(--strategy fedavg)
  case "$strategy" in
    central-dp) flags=(--strategy fedavg --central-dp fixed) ;;
    dp-sgd) flags=(--strategy fedavg --dp-sgd) ;;
    *) flags=(--strategy "$strategy") ;;
  esac
  dotnet "$F" server --insecure --host 127.0.0.1 --port 0 --no-inspector --model "noop:$PARAMS" --rounds "$ROUNDS" \
    --min-clients "$n" --state-dir "$dir/state" --out "$dir/out" "${flags[@]}" >"$dir/server.log" 2>&1 &
  SP=$!
  local port startup=0 peak=0 h
  port=$(wait_for_port "$dir/server.log" "$strategy, $n clients")
  startup=$(awk '/VmRSS/ {print $2}' "/proc/$SP/status")
  dotnet "$F" client --server "127.0.0.1:$port" --insecure --model "noop:$PARAMS" --virtual-clients "$n" \
    --num-partitions "$n" >"$dir/client.log" 2>&1 &
  CP=$!
  while kill -0 "$SP" 2>/dev/null; do
    h=$(awk '/VmHWM/ {print $2}' "/proc/$SP/status" 2>/dev/null || true)
    if [ -n "$h" ] && [ "$h" -gt "$peak" ]; then peak=$h; fi
    sleep 0.1
  done
  finish_run "$dir/server.log" "$strategy, $n clients"
  echo "$peak $startup"
}

printf "model: noop:%s (%s MB), %s rounds\n" "$PARAMS" "$MODEL_MB" "$ROUNDS"
printf "%-12s %8s %14s %8s %20s\n" strategy clients "peak RSS MB" ratio "ratio w/o start-up"
failed=0
for s in $STRATEGIES; do
  for n in $CLIENTS; do
    read -r peak startup < <(run_one "$s" "$n")
    peak_mb=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }')
    ratio=$(awk -v k="$peak" -v b="$MODEL_BYTES" 'BEGIN { printf "%.2f", k * 1024 / b }')
    net=$(awk -v k="$peak" -v s="$startup" -v b="$MODEL_BYTES" 'BEGIN { printf "%.2f", (k - s) * 1024 / b }')
    printf "%-12s %8s %14s %8s %20s\n" "$s" "$n" "$peak_mb" "$ratio" "$net"
    if [ -n "$MAX_RATIO" ] && awk -v r="$net" -v m="$MAX_RATIO" 'BEGIN { exit !(r > m) }'; then
      failed=1
    fi
  done
done
if [ "$failed" -ne 0 ]; then
  echo "a run's ratio exceeds --max-ratio $MAX_RATIO" >&2
  exit 1
fi
