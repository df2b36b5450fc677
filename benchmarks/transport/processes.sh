#!/usr/bin/env bash
# Tensor transfer through real processes: one `federate server` and one `federate client` on 127.0.0.1 (port 0),
# a noop model of SIZE MB (float32), R rounds, per path: "bulk" (the transfer endpoint, the default) and "grpc"
# (tensors in the gRPC streams: server --transfer-port -1). With --tls both run with kits (TLS and AES-256-GCM payload
# encryption) instead of --insecure.
#
# Printed per size and path: raw loopback TCP (measured in the same run by benchmarks/Federate.TransportBenchmark
# --raw-only, median), the client's download and upload rates (its "transfer:" log lines, median of rounds 2..R; the
# first round warms the processes up), their ratios to raw TCP, and the client's peak RSS (VmHWM) over the model size,
# plainly and without its start-up footprint (RSS once it has joined, before the first task).
#
# Usage: benchmarks/transport/processes.sh [--sizes "10 100 256 1000"] [--rounds 5] [--paths "bulk grpc"] [--tls]
#        (KEEP_WORK=1 keeps the server and client logs and prints where; FEDERATE_DLL=/path/federate.dll runs an
#        already built CLI, to compare builds; CLIENT_ARGS adds client options, e.g. "--retain-memory")
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES="10 100 256 1000"
ROUNDS=5
PATHS="bulk grpc"
TLS=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --paths) PATHS=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -n "${FEDERATE_DLL:-}" ]; then
  F=$FEDERATE_DLL
else
  dotnet build src/Federate.Cli -c Release -nologo -v quiet >/dev/null
  F=src/Federate.Cli/bin/Release/net10.0/federate.dll
fi
dotnet build benchmarks/Federate.TransportBenchmark -c Release -nologo -v quiet >/dev/null
B=benchmarks/Federate.TransportBenchmark/bin/Release/net10.0/Federate.TransportBenchmark.dll
WORK=$(mktemp -d)
SP=""
CP=""
cleanup() {
  [ -n "$CP" ] && kill "$CP" 2>/dev/null || true
  [ -n "$SP" ] && kill "$SP" 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

. benchmarks/scripts/process-lib.sh
security_args "$TLS" transfer

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "$(nproc) cores, $ROUNDS rounds per run (first is warm-up), $([ "$TLS" = 1 ] && echo "TLS + AES-GCM (kits)" || echo "plain (--insecure)")"
printf "%7s | %-4s | %12s | %13s | %5s | %11s | %5s | %16s | %14s\n" "size MB" path "raw TCP MB/s" "download MB/s" ratio "upload MB/s" ratio "client peak MiB" "peak/model (-start)"
for size in $SIZES; do
  params=$((size * 1000000 / 4))
  raw=$(dotnet "$B" --runs 4 --raw-only "$size")
  for path in $PATHS; do
    dir="$WORK/$size-$path"
    mkdir -p "$dir"
    extra_server=()
    extra_client=()
    if [ "$path" = grpc ]; then extra_server=(--transfer-port -1); extra_client=(--no-transfer-endpoint); fi
    dotnet "$F" server "${SEC_SERVER[@]}" --host 127.0.0.1 --port 0 --no-inspector --model "noop:$params" --rounds "$ROUNDS" \
      --min-clients 1 --round-timeout 900 --state-dir "$dir/state" --out "$dir/out" "${extra_server[@]}" >"$dir/server.log" 2>&1 &
    SP=$!
    port=$(wait_for_port "$dir/server.log" "$size MB, $path")
    dotnet "$F" client "${SEC_CLIENT[@]}" --server "127.0.0.1:$port" --model "noop:$params" "${extra_client[@]}" ${CLIENT_ARGS:-} >"$dir/client.log" 2>&1 &
    CP=$!
    peak=0
    startup=0
    while kill -0 "$CP" 2>/dev/null; do
      h=$(awk '/VmHWM/ {print $2}' "/proc/$CP/status" 2>/dev/null || true)
      if [ -n "$h" ] && [ "$h" -gt "$peak" ]; then peak=$h; fi
      if [ "$startup" = 0 ] && grep -q "joined" "$dir/client.log" 2>/dev/null; then
        startup=$(awk '/VmRSS/ {print $2}' "/proc/$CP/status" 2>/dev/null || echo 0)
      fi
      sleep 0.05
    done
    wait "$CP" || { echo "client failed:" >&2; tail -5 "$dir/client.log" >&2; exit 1; }
    CP=""
    wait "$SP" || true
    SP=""
    rates() { grep -oE "transfer: $1 [0-9]+ bytes in [0-9.]+ s \([0-9]+ MB/s\)" "$dir/client.log" | tail -n +2 | grep -oE "\([0-9]+ MB/s" | tr -d '(' | awk '{print $1}' || true; }
    down=$(rates download | median)
    up=$(rates upload | median)
    model_kib=$((size * 1000000 / 1024))
    printf "%7s | %-4s | %12s | %13s | %5s | %11s | %5s | %16s | %6s (%6s)\n" "$size" "$path" "$raw" "$down" \
      "$(awk -v d="$down" -v r="$raw" 'BEGIN { printf "%.2f", d / r }')" "$up" "$(awk -v u="$up" -v r="$raw" 'BEGIN { printf "%.2f", u / r }')" \
      "$((peak / 1024))" "$(awk -v p="$peak" -v m="$model_kib" 'BEGIN { printf "%.2f", p / m }')" "$(awk -v p="$peak" -v s="$startup" -v m="$model_kib" 'BEGIN { printf "%.2f", (p - s) / m }')"
  done
done
