#!/usr/bin/env bash
# The TorchSharp bridge, which the solution build leaves out because of libtorch's size (a fresh machine downloads
# about 130 MB of NuGet packages, TorchSharp and libtorch-cpu-linux-x64, and unpacks about 600 MB): builds and runs
# tests/Federate.TorchSharp.Tests, then samples/TorchSharpClient in a simulation and as two client processes of a real
# 'federate server --model none'. The build marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak so that it
# loads on Debian 12 (src/Federate.TorchSharp/buildTransitive/Federate.TorchSharp.targets); nothing to install.
# Needs Fashion-MNIST ('apt-get install dataset-fashion-mnist') and the built federate tool (./test.sh builds it).
# Usage: scripts/torchsharp-check.sh [dotnet test arguments, e.g. --filter ...]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build tests/Federate.TorchSharp.Tests/Federate.TorchSharp.Tests.csproj -c Release -nologo -v:q
dotnet build samples/TorchSharpClient/TorchSharpClient.csproj -c Release -nologo -v:q
dotnet build benchmarks/Federate.ModelBenchmark/Federate.ModelBenchmark.csproj -c Release -nologo -v:q -p:WithTorchSharp=true
dotnet test tests/Federate.TorchSharp.Tests/Federate.TorchSharp.Tests.csproj -c Release --no-build "$@"

sample=samples/TorchSharpClient/bin/Release/net10.0/TorchSharpClient.dll
echo "sample: TorchSharpClient (simulation)"
dotnet "$sample" sim --clients 2 --rounds 2 --examples 3000

# The throughput benchmark with TorchSharp beside the built-in model (docs/models.md), on a few images.
echo "benchmark: Federate.ModelBenchmark with TorchSharp"
bench=$(dotnet benchmarks/Federate.ModelBenchmark/bin/Release/net10.0/Federate.ModelBenchmark.dll --images 256 --repeats 1 --models cnn)
echo "$bench"
grep -q '^cnn  *torch ' <<< "$bench" || { echo "torchsharp-check: the model benchmark printed no TorchSharp row"; exit 1; }

# Two sample clients against a real server that takes its initial model from the first client.
echo "sample: TorchSharpClient (federate server and two client processes)"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
dotnet src/Federate.Cli/bin/Release/net10.0/federate.dll server --host 127.0.0.1 --port 0 --inspector-port 0 --insecure \
  --model none --min-clients 2 --rounds 2 --local-epochs 1 --batch-size 64 --lr 0.01 --momentum 0.9 --out "$work/out" --state-dir "$work/state" \
  > "$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 600); do grep -q 'listening on http://' "$work/server.log" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
[ -n "$port" ] || { cat "$work/server.log"; exit 1; }
for i in 0 1; do
  dotnet "$sample" client --server "127.0.0.1:$port" --partition "$i" --partitions 2 --examples 3000 > "$work/client$i.log" 2>&1 &
  pids+=("$!")
done
if ! wait "$server"; then cat "$work/server.log"; exit 1; fi
for i in 0 1; do
  wait "${pids[$((i + 1))]}" || { cat "$work/client$i.log"; exit 1; }
done
pids=()
grep -q 'round 2: 2 results, 0 failures' "$work/server.log" || { cat "$work/server.log"; echo "torchsharp-check: the server did not finish 2 rounds with both clients"; exit 1; }
[ -s "$work/out/model.safetensors" ] || { echo "torchsharp-check: the server wrote no model"; exit 1; }
grep 'round 2:' "$work/server.log" | sed 's/^[^ ]* info: [^ ]* //'
echo "torchsharp-check: OK"
