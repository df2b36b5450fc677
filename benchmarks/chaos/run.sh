#!/usr/bin/env bash
# Chaos run: seeded server kills, client kills and network faults against real federate processes.
# Builds the CLI and the runner (Release), then runs benchmarks/Federate.Chaos with the given options, e.g.
#   benchmarks/chaos/run.sh --server-kills 50 --client-kills 10 --network-faults 10 --seed 1
# Options: --server-kills N --client-kills N --network-faults N --seed N --rounds R --clients N --work DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Federate.Cli -c Release -v q -nologo >/dev/null
dotnet build benchmarks/Federate.Chaos -c Release -v q -nologo >/dev/null
exec dotnet benchmarks/Federate.Chaos/bin/Release/net10.0/Federate.Chaos.dll "$@"
