#!/usr/bin/env bash
# Runs the whole test suite (unit, simulation, command line, browser) and the samples. Fashion-MNIST tests need
# 'apt-get install dataset-fashion-mnist', the dashboard's browser tests 'apt-get install chromium' (.ci/run does both).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Federate.slnx -c Release

# The samples run as documented; each exits non-zero when what it shows does not hold.
for name in CustomClientAndStrategy SimulationWithPrivacyAndResume StreamingStrategyDecorator; do
  echo "sample: $name"
  dotnet "samples/$name/bin/Release/net10.0/$name.dll" > /dev/null
done

# The embedded server sample serves two real 'federate client' processes for 2 rounds on free loopback ports.
echo "sample: EmbeddedServer"
work=$(mktemp -d)
(cd samples/EmbeddedServer && exec dotnet bin/Release/net10.0/EmbeddedServer.dll --Rounds 2) > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do grep -q '^fleet: ' "$work/server.log" && break; sleep 0.1; done
port=$(sed -n 's/^fleet: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
[ -n "$port" ] || { cat "$work/server.log"; kill "$server"; exit 1; }
for i in 0 1; do
  dotnet src/Federate.Cli/bin/Release/net10.0/federate.dll client --server "127.0.0.1:$port" --insecure --dataset digits \
    --dataset-id "$i" --num-partitions 2 --retry-interval 0.2 > "$work/client$i.log" 2>&1 &
done
if ! wait "$server"; then cat "$work/server.log"; exit 1; fi
wait
rm -rf "$work"

dotnet test Federate.slnx -c Release --no-build "$@"

# The TorchSharp bridge: tests and sample, built apart from the solution (libtorch is large; see the script).
scripts/torchsharp-check.sh "$@"

# The packages as a user gets them: pack into a local feed, install the federate tool from it and run a simulation,
# build the PackageConsumer sample and the three dotnet new templates against the feed and run them.
scripts/package-check.sh
