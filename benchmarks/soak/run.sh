#!/usr/bin/env bash
# Soak run: 1,000 rounds of logistic regression on digits, 20 clients (4 processes x 5 --virtual-clients) of which one
# process leaves (Ctrl+C or SIGKILL in turn) and joins again every 20 rounds; the server's VmRSS, VmHWM, threads and
# open handles are read from /proc every 50 rounds. Builds the CLI and the runner (Release) first, e.g.
#   benchmarks/soak/run.sh --rounds 1000 --sample-every 50
# Options: --rounds R --processes N --clients-per-process N --min-clients N --churn-every R --sample-every R --work DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build src/Federate.Cli -c Release -v q -nologo >/dev/null
dotnet build benchmarks/Federate.Chaos -c Release -v q -nologo >/dev/null
exec dotnet benchmarks/Federate.Chaos/bin/Release/net10.0/Federate.Chaos.dll soak "$@"
