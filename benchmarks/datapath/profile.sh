#!/usr/bin/env bash
# Where the transfer's CPU goes: one `federate server` and one `federate client` process on 127.0.0.1 move a noop
# model of SIZE MB down and up for R rounds while `perf` samples both (after the first round, which warms them up).
#
# Printed: raw loopback TCP measured in the same run (MB/s and CPU ns per byte, both ends in one process), the
# client's transfer rates, then the server's and the client's CPU per byte moved split into categories by call chain
# (benchmarks/datapath/perf-categories.py: durable state written between rounds, spool, libcrypto (SHA-256, and with
# kits AES-GCM and TLS), NaN check and fold, kernel page faults, socket copies and other kernel work, user-space copies, JIT, runtime,
# Federate code, other .NET code) and the top leaf functions. .NET frames are named through the runtime's perf map
# (DOTNET_PerfMapEnabled=1; files /tmp/perf-PID.map, removed at the end).
#
# Needs `perf` (apt-get install linux-perf) and permission to sample (root, or kernel.perf_event_paranoid <= 1).
#
# Usage: benchmarks/datapath/profile.sh [--size 100] [--rounds 6] [--tls] [--grpc] [--top 12]
#        (KEEP_WORK=1 keeps the logs and perf data and prints where)
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=100
ROUNDS=6
TLS=0
GRPC=0
TOP=12
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    --grpc) GRPC=1; shift ;;
    --top) TOP=$2; shift 2 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v perf >/dev/null || { echo "profile.sh needs perf: apt-get install linux-perf" >&2; exit 1; }
[ "$ROUNDS" -ge 2 ] || { echo "--rounds must be at least 2 (the first round is not sampled)" >&2; exit 2; }

dotnet build src/Federate.Cli -c Release -nologo -v quiet >/dev/null
dotnet build benchmarks/Federate.TransportBenchmark -c Release -nologo -v quiet >/dev/null
F=src/Federate.Cli/bin/Release/net10.0/federate.dll
B=benchmarks/Federate.TransportBenchmark/bin/Release/net10.0/Federate.TransportBenchmark.dll
WORK=$(mktemp -d)
SP=""
CP=""
PP=""
cleanup() {
  for p in $PP $CP $SP; do kill "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -f "/tmp/perf-${SP:-x}.map" "/tmp/perf-${CP:-x}.map" "/tmp/perfinfo-${SP:-x}.map" "/tmp/perfinfo-${CP:-x}.map"
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

. benchmarks/scripts/process-lib.sh
security_args "$TLS" profile
extra_server=()
extra_client=()
if [ "$GRPC" = 1 ]; then extra_server=(--transfer-port -1); extra_client=(--no-transfer-endpoint); fi

read -r raw_rate raw_ns < <(dotnet "$B" --runs 4 --raw-cpu "$SIZE")
params=$((SIZE * 1000000 / 4))
# Precompiled (ReadyToRun) code is not in the perf map, and perf reads the map only for anonymous memory, not the
# runtime's double-mapped code pages: JIT everything, without W^X, so every .NET frame has a name.
export DOTNET_PerfMapEnabled=1 DOTNET_ReadyToRun=0 DOTNET_EnableWriteXorExecute=0
dotnet "$F" server "${SEC_SERVER[@]}" --host 127.0.0.1 --port 0 --no-inspector --model "noop:$params" --rounds "$ROUNDS" \
  --min-clients 1 --round-timeout 900 --state-dir "$WORK/state" --out "$WORK/out" "${extra_server[@]}" >"$WORK/server.log" 2>&1 &
SP=$!
port=$(wait_for_port "$WORK/server.log" "profile")
dotnet "$F" client "${SEC_CLIENT[@]}" --server "127.0.0.1:$port" --model "noop:$params" "${extra_client[@]}" >"$WORK/client.log" 2>&1 &
CP=$!
# The first round (download and upload) warms both processes up; sampling starts when its upload is logged.
for _ in $(seq 1 6000); do
  grep -q "transfer: upload" "$WORK/client.log" 2>/dev/null && break
  kill -0 "$CP" 2>/dev/null || { echo "client stopped:" >&2; tail -5 "$WORK/client.log" >&2; exit 1; }
  sleep 0.05
done
freq=999
perf record -g -F "$freq" -o "$WORK/server.data" -p "$SP" >/dev/null 2>"$WORK/perf-server.err" &
PP="$!"
perf record -g -F "$freq" -o "$WORK/client.data" -p "$CP" >/dev/null 2>"$WORK/perf-client.err" &
PP="$PP $!"
wait "$CP" || { echo "client failed:" >&2; tail -5 "$WORK/client.log" >&2; exit 1; }
wait "$SP" || true
for p in $PP; do wait "$p" 2>/dev/null || true; done
PP=""

bytes=$(awk -v s="$SIZE" -v r="$ROUNDS" 'BEGIN { printf "%.0f", 2 * s * 1000000 * (r - 1) }')
rates() { grep -oE "transfer: $1 [0-9]+ bytes in [0-9.]+ s \([0-9]+ MB/s\)" "$WORK/client.log" | tail -n +2 | grep -oE "\([0-9]+ MB/s" | tr -d '(' | awk '{print $1}' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $SIZE MB model, rounds 2..$ROUNDS sampled ($((bytes / 1000000)) MB moved), $([ "$TLS" = 1 ] && echo "TLS + AES-GCM (kits)" || echo "plain"), $([ "$GRPC" = 1 ] && echo "gRPC streams" || echo "bulk endpoint")"
echo "raw loopback TCP: $raw_rate MB/s, $raw_ns ns of CPU per byte (sender and receiver)"
echo "federate: download $(rates download) MB/s, upload $(rates upload) MB/s (client's transfer: lines, medians)"
echo

for side in server client; do
  perf script -i "$WORK/$side.data" 2>/dev/null | python3 benchmarks/datapath/perf-categories.py --name "$side" --freq "$freq" --bytes "$bytes" --top "$TOP"
  echo
done
