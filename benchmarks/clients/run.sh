#!/usr/bin/env bash
# Round overhead with many clients: one `federate server` on 127.0.0.1 (port 0, read from its log) and one
# `federate client --virtual-clients N` process, a noop model of P float32 parameters (default noop:1000), R rounds
# of train + evaluate (default 20). For each N prints the median round time (history.json 'seconds', train +
# evaluate), the median of the second half of the rounds (the first rounds run while the runtime is still compiling
# the hot paths), the median per client, the server's CPU time per client per round (utime + stime from /proc, start-up excluded) and
# the client process's (all N virtual clients, start-up included),
# next to the goal (50 ms at 100 clients) and the reference measured in the same run: the same run with 1 client
# (a round's fixed cost). Then 1,000 virtual clients in one process (`federate sim --model noop:P`), ms per client.
#
# Usage: benchmarks/clients/run.sh [--clients "1 10 50 100"] [--rounds R] [--params P] [--sim-clients N]
# Environment: CLIENTS_SERVER_ARGS adds options to the server (e.g. "--max-concurrent-uploads 100").
#   FEDERATE_DLL=/path/federate.dll runs an already built CLI (to compare before and after).
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENTS="1 10 50 100"
ROUNDS=20
PARAMS=1000
SIM_CLIENTS=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --params) PARAMS=$2; shift 2 ;;
    --sim-clients) SIM_CLIENTS=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

. benchmarks/scripts/fleet-run.sh
TICK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TICK" '{ printf "%.0f", ($14 + $15) * 1000 / t }' "/proc/$1/stat"; }

run_one() { # clients -> prints "median_round_ms second_half_median_ms server_cpu_ms client_cpu_ms"
  local n=$1 dir="$WORK/$1"
  mkdir -p "$dir"
  dotnet "$F" server --insecure --host 127.0.0.1 --port 0 --no-inspector --model "noop:$PARAMS" --rounds "$ROUNDS" \
    --min-clients "$n" --state-dir "$dir/state" --out "$dir/out" ${CLIENTS_SERVER_ARGS:-} >"$dir/server.log" 2>&1 &
  SP=$!
  local port cpu0 cpu1=0 ccpu=0 c
  port=$(wait_for_port "$dir/server.log" "$n clients")
  cpu0=$(cpu_ms "$SP")
  dotnet "$F" client --server "127.0.0.1:$port" --insecure --model "noop:$PARAMS" --virtual-clients "$n" \
    --num-partitions "$n" >"$dir/client.log" 2>&1 &
  CP=$!
  while kill -0 "$SP" 2>/dev/null; do
    c=$(cpu_ms "$SP" 2>/dev/null || true)
    [ -n "$c" ] && cpu1=$c
    c=$(cpu_ms "$CP" 2>/dev/null || true)
    [ -n "$c" ] && ccpu=$c
    sleep 0.2
  done
  finish_run "$dir/server.log" "$n clients"
  python3 - "$dir/out/history.json" "$((cpu1 - cpu0))" "$ccpu" <<'PY'
import json, statistics, sys
h = json.load(open(sys.argv[1]))
rounds = [r["seconds"] * 1000 for r in h["rounds"]]
failures = sum(r["clients"]["failures"] if isinstance(r["clients"]["failures"], int) else len(r["clients"]["failures"]) for r in h["rounds"])
if failures:
    print(f"{failures} client failures", file=sys.stderr)
late = rounds[len(rounds) // 2:]
print(f"{statistics.median(rounds):.1f} {statistics.median(late):.1f} {sys.argv[2]} {sys.argv[3]}")
PY
}

printf "noop:%s, %s rounds of train + evaluate, %s cores, load %s\n" "$PARAMS" "$ROUNDS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
printf "%8s %16s %18s %14s %20s %20s %20s %12s\n" clients "round median ms" "2nd half median ms" "ms per client" "server CPU ms/cl/rd" "client CPU ms/cl/rd" "over 1-client round" "goal ratio"
base=""
for n in $CLIENTS; do
  read -r median late cpu ccpu < <(run_one "$n")
  [ -z "$base" ] && base=$median
  per=$(awk -v m="$median" -v n="$n" 'BEGIN { printf "%.2f", m / n }')
  cpuper=$(awk -v c="$cpu" -v n="$n" -v r="$ROUNDS" 'BEGIN { printf "%.2f", c / n / r }')
  ccpuper=$(awk -v c="$ccpu" -v n="$n" -v r="$ROUNDS" 'BEGIN { printf "%.2f", c / n / r }')
  over=$(awk -v m="$median" -v b="$base" 'BEGIN { printf "%.1fx", m / b }')
  goal=$(awk -v m="$median" -v n="$n" 'BEGIN { if (n >= 100) printf "%.2f", 50 / m; else printf "-" }')
  printf "%8s %16s %18s %14s %20s %20s %20s %12s\n" "$n" "$median" "$late" "$per" "$cpuper" "$ccpuper" "$over" "$goal"
done

if [ "$SIM_CLIENTS" -gt 0 ]; then
  out="$WORK/sim"
  start=$(date +%s%N)
  dotnet "$F" sim --model "noop:$PARAMS" --clients "$SIM_CLIENTS" --partition iid --rounds 3 --json --out "$out" >"$WORK/sim.json" 2>"$WORK/sim.log" || { tail -5 "$WORK/sim.log" >&2; exit 1; }
  end=$(date +%s%N)
  python3 - "$out/history.json" "$SIM_CLIENTS" "$(( (end - start) / 1000000 ))" <<'PY'
import json, statistics, sys
h = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
rounds = [r["seconds"] * 1000 for r in h["rounds"]]
m = statistics.median(rounds)
print(f"simulation, {n} virtual clients in one process: {len(rounds)} rounds finished, round median {m:.1f} ms, {m / n:.3f} ms per client (whole command {sys.argv[3]} ms)")
PY
fi
