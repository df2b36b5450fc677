#!/usr/bin/env bash
# Every goal of the data path in one command: transfer, aggregation, many clients, server and client memory, DP-SGD
# and update compression. Each part is a benchmark of its own that prints its figure next to the reference measured
# in the same run (raw loopback TCP, `y += x`, plain SGD, uncompressed updates, a 1-client round); this script runs
# them one after another, keeps their full output in a folder, and ends with one table: goal, figure, reference,
# ratio, target.
#
# Usage: benchmarks/datapath/run.sh [--quick] [--out DIR]
#   default: the sizes of the goals (transfer 10 MB to 1 GB, 256 MB updates, 100 MB models over 10 rounds, 100 and
#            1,000 clients, 20 rounds of Fashion-MNIST per codec): about an hour on 2 quiet cores
#   --quick: smaller sizes and fewer repetitions (about 15 minutes); the ratios are indicative only
# Run it on a quiet machine: every figure is a ratio to a reference measured in the same run, but a loaded machine
# moves the ratios too (see docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

QUICK=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-$(mktemp -d /tmp/datapath-XXXXXX)}
mkdir -p "$OUT"

if [ "$QUICK" = 1 ]; then
  TRANSFER=(--sizes "10 100" --runs 3)
  PROCESSES=(--sizes "100" --rounds 3)
  AGGREGATION=(--cases 1x64,4x64,100x10 --reps 3)
  CLIENTS=(--clients "1 100" --rounds 3 --sim-clients 1000)
  MEMORY=(--params 25000000 --rounds 3 --clients "4" --strategies "fedavg central-dp")
  DPSGD=(--runs 3 --rounds 5)
  COMPRESSION=(--seeds 1 --rounds 5 --codecs "none int8")
else
  TRANSFER=(--sizes "10 100 256 1000" --runs 5)
  PROCESSES=(--sizes "10 100 256 1000" --rounds 5)
  AGGREGATION=(--cases 1x256,4x256,100x40 --reps 5)
  CLIENTS=(--clients "1 10 50 100" --sim-clients 1000)
  MEMORY=(--params 25000000 --rounds 10 --clients "4 16")
  DPSGD=()
  COMPRESSION=(--seeds 3 --codecs "none fp16 int8 topk:0.1 topk:0.01")
fi

printf 'data path benchmarks: %s cores, load %s, output in %s\n' "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$OUT"
dotnet build benchmarks/Federate.TransportBenchmark -c Release -nologo -v quiet >/dev/null
dotnet build benchmarks/Federate.Benchmarks -c Release -nologo -v quiet >/dev/null
dotnet build src/Federate.Cli -c Release -nologo -v quiet >/dev/null

part() {
  local name=$1; shift
  printf '\n== %s: %s\n' "$name" "$*"
  if ! "$@" 2>&1 | tee "$OUT/$name.txt"; then
    echo "   ($name failed; see $OUT/$name.txt)"
  fi
}

part transfer dotnet run -c Release --no-build --project benchmarks/Federate.TransportBenchmark -- "${TRANSFER[@]}"
part transfer-processes benchmarks/transport/processes.sh "${PROCESSES[@]}"
part transfer-tls benchmarks/transport/processes.sh --tls --sizes 100 --rounds 3 --paths bulk
part aggregation dotnet run -c Release --no-build --project benchmarks/Federate.Benchmarks -- aggregation "${AGGREGATION[@]}"
part clients benchmarks/clients/run.sh "${CLIENTS[@]}"
part memory benchmarks/memory/run.sh "${MEMORY[@]}"
part dpsgd benchmarks/scripts/dpsgd-speed.sh "${DPSGD[@]}"
part compression benchmarks/compression/run.sh "${COMPRESSION[@]}"

# The summary: each part's own lines, picked by their labels (see each benchmark's header for the columns).
printf '\n== summary (full tables above and in %s)\n' "$OUT"
printf '%-44s | %s\n' "goal" "measured (figure, reference, ratio)"
printf '%-44s | %s\n' "--------------------------------------------" "-----------------------------------"
show() { # goal, file, grep pattern
  local lines
  lines=$(grep -E "$3" "$OUT/$2.txt" 2>/dev/null || true)
  if [ -z "$lines" ]; then
    printf '%-44s | %s\n' "$1" "(no figure: see $OUT/$2.txt)"
  else
    while IFS= read -r l; do printf '%-44s | %s\n' "$1" "$(echo "$l" | tr -s ' ')"; done <<< "$lines"
  fi
}
show "transfer >= 0.5x raw TCP, in-process" transfer '^ *[0-9]+ \| (bulk|grpc) '
show "transfer >= 0.5x raw TCP, processes" transfer-processes '^ *[0-9]+ \| (bulk|grpc) '
show "transfer with TLS (aim 0.35x)" transfer-tls '^ *[0-9]+ \| (bulk|grpc) '
show "aggregation >= 0.9x y += x" aggregation '^[0-9]+ x [0-9]+ MB'
show "100 clients: round < 50 ms" clients '^ +(1|100) '
show "1,000 virtual clients finish rounds" clients '^simulation, '
show "server peak RSS < 2.5x the model" memory '^ *(fedavg|fedadam|fedavgm|central-dp|dp-sgd) '
show "DP-SGD >= 0.5x plain SGD (batch 16/32/64)" dpsgd '^ +(16|32|64) '
show "sim --dp-sgd round >= 0.5x plain" dpsgd 'round speed'
show "int8 <= 27% of bytes, accuracy -0.5 pt" compression '^(none|fp16|int8|topk)|^goal'
echo
echo "columns: transfer = size MB | path | raw TCP MB/s | download MB/s | ratio | upload MB/s | ratio | CPU ns/byte"
echo "  (processes: ... | client peak MiB | client peak/model, without start-up in parentheses: the client RSS goal);"
echo "  aggregation = case, y += x CPU ms, aggregator ms, ratio, streamed ms, ratio, before ms, ratio;"
echo "  clients = clients, round median ms, its second half's median, ms per client, server and client CPU ms per client and round, over the"
echo "  1-client round, 50 ms / median; memory = strategy, clients, peak RSS MB, ratio, ratio without start-up;"
echo "  DP-SGD = batch, SGD ex/s, DP ex/s, ratio (wall), SGD ex/CPU-s, DP ex/CPU-s, ratio (CPU);"
echo "  compression = codec, update MB, ratio to none, accuracy, points against none, seconds"
