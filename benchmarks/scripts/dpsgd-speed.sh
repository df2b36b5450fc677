#!/usr/bin/env bash
# DP-SGD against plain SGD, both measured in the same run and interleaved (the machine may be shared):
#  1. training throughput of one model at batch 16, 32 and 64 (benchmarks/Federate.Benchmarks `dpsgd-speed`:
#     medians of examples per second, wall clock and CPU time, and the DP-SGD / SGD ratio);
#  2. `federate sim` rounds, plain against `--dp-sgd`, R runs each in alternation: median seconds per round from
#     the `seconds` of `--json`, and the ratio of the speeds.
# Usage: benchmarks/scripts/dpsgd-speed.sh [--runs R] [--rounds N] [--skip-training] [-- extra sim options]
# Environment: DPSGD_SPEED_ARGS adds options to the training benchmark (e.g. "--model cnn --features 784").
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=7
rounds=20
training=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --skip-training) training=0; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1; use --runs R, --rounds N, --skip-training, -- sim options" >&2; exit 2 ;;
  esac
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet build benchmarks/Federate.Benchmarks -c Release -nologo -v:q -o "$out/bench" > "$out/build.log" || { cat "$out/build.log"; exit 1; }
dotnet build src/Federate.Cli -c Release -nologo -v:q -o "$out/cli" > "$out/build.log" || { cat "$out/build.log"; exit 1; }

if [ "$training" = 1 ]; then
  # shellcheck disable=SC2086
  dotnet "$out/bench/Federate.Benchmarks.dll" dpsgd-speed ${DPSGD_SPEED_ARGS:-}
  echo
fi

echo "federate sim (defaults: digits, mlp, 10 clients, batch 16, 5 local epochs) ${extra[*]}, $rounds rounds, $runs runs each, alternating; load $(cut -d' ' -f1 /proc/loadavg)"
seconds() {
  dotnet "$out/cli/federate.dll" sim --json --rounds "$rounds" --out "$out/run" "$@" "${extra[@]}" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])'
}
plain=()
dp=()
for ((r = 0; r < runs; r++)); do
  if (( r % 2 == 0 )); then
    plain+=("$(seconds)"); dp+=("$(seconds --dp-sgd)")
  else
    dp+=("$(seconds --dp-sgd)"); plain+=("$(seconds)")
  fi
done
python3 - "$rounds" "${plain[*]}" "${dp[*]}" <<'PY'
import statistics, sys
rounds = int(sys.argv[1])
plain = [float(v) for v in sys.argv[2].split()]
dp = [float(v) for v in sys.argv[3].split()]
p, d = statistics.median(plain), statistics.median(dp)
print(f"{'mode':8} {'median s':>9} {'ms/round':>9}  runs (s)")
print(f"{'plain':8} {p:9.3f} {1000 * p / rounds:9.1f}  {' '.join(f'{v:.3f}' for v in plain)}")
print(f"{'dp-sgd':8} {d:9.3f} {1000 * d / rounds:9.1f}  {' '.join(f'{v:.3f}' for v in dp)}")
print(f"dp-sgd round speed / plain: {p / d:.2f}x")
PY
