#!/usr/bin/env bash
# Update compression: bytes on the wire and accuracy after R rounds, each codec against uncompressed float32 updates
# measured in the same run (same seed, data, model and clients). For each codec and seed it runs `federate sim
# --update-compression CODEC` and reads history.json: update bytes per round (train metric update_bytes: the bytes of
# the accepted updates' tensors as sent; for none, results x the model's float32 bytes) and the last round's
# accuracy. Prints medians over the seeds, the ratio of bytes to none and the accuracy difference in points, then
# checks the int8 goal (at most 27% of the bytes, accuracy within 0.5 points).
#
# Usage: benchmarks/compression/run.sh [--dataset NAME] [--model SPEC] [--rounds R] [--clients N] [--local-epochs E]
#                                      [--seeds S] [--codecs "none fp16 int8 topk:0.01"]
#   default: --dataset fashion-mnist --model mlp --rounds 20 --clients 10 --local-epochs 1 --seeds 1
set -euo pipefail
cd "$(dirname "$0")/../.."
DATASET=fashion-mnist; MODEL=mlp; ROUNDS=20; CLIENTS=10; EPOCHS=1; SEEDS=1; CODECS="none fp16 int8 topk:0.01"
while [ $# -gt 0 ]; do
  case "$1" in
    --dataset) DATASET=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --local-epochs) EPOCHS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --codecs) CODECS=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case " $CODECS " in *" none "*) ;; *) CODECS="none $CODECS" ;; esac
dotnet build src/Federate.Cli -c Release -nologo -v:q > /dev/null
CLI=src/Federate.Cli/bin/Release/net10.0/federate.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "update compression: $DATASET, $MODEL, $CLIENTS clients, $ROUNDS rounds, $EPOCHS local epoch(s), seeds 0..$((SEEDS - 1))"
for seed in $(seq 0 $((SEEDS - 1))); do
  for codec in $CODECS; do
    dir="$work/${codec//:/_}-$seed"
    start=$(date +%s.%N)
    dotnet $CLI sim --dataset "$DATASET" --model "$MODEL" --clients "$CLIENTS" --rounds "$ROUNDS" --local-epochs "$EPOCHS" \
      --seed "$seed" --update-compression "$codec" --out "$dir" > "$dir.log" 2>&1 || { tail -5 "$dir.log"; exit 1; }
    echo "$start $(date +%s.%N)" > "$dir/seconds"
  done
done

python3 - "$work" "$SEEDS" $CODECS <<'PY'
import json, os, statistics, struct, sys
work, seeds, codecs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def model_bytes(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items() if k != "__metadata__")

def figures(codec, seed):
    d = os.path.join(work, f"{codec.replace(':', '_')}-{seed}")
    h = json.load(open(os.path.join(d, "history.json")))
    dense = model_bytes(os.path.join(d, "model.safetensors"))
    sent = sum(r["train"].get("update_bytes", r["clients"]["results"] * dense) for r in h["rounds"])
    acc = h["rounds"][-1]["evaluate"]["accuracy"]
    return sent, acc, (lambda t: float(t[1]) - float(t[0]))(open(os.path.join(d, "seconds")).read().split())

rows = {c: [figures(c, s) for s in range(seeds)] for c in codecs}
med = lambda xs: statistics.median(xs)
base_bytes = med([r[0] for r in rows["none"]]); base_acc = med([r[1] for r in rows["none"]])
print(f"{'codec':10} {'update MB':>10} {'ratio':>7} {'accuracy':>9} {'vs none':>9} {'seconds':>8}")
for c in codecs:
    b = med([r[0] for r in rows[c]]); a = med([r[1] for r in rows[c]]); s = med([r[2] for r in rows[c]])
    print(f"{c:10} {b / 1e6:10.2f} {b / base_bytes:7.3f} {a:9.4f} {100 * (a - base_acc):+8.2f}pt {s:8.1f}")
if "int8" in rows:
    ratio = med([r[0] for r in rows["int8"]]) / base_bytes
    diff = 100 * abs(med([r[1] for r in rows["int8"]]) - base_acc)
    ok = ratio <= 0.27 and diff <= 0.5
    print(f"goal int8: bytes {ratio:.3f} of none (<= 0.27), accuracy within {diff:.2f} points (<= 0.5): {'met' if ok else 'NOT met'}")
PY
