#!/usr/bin/env bash
# Runs the whole test suite (unit, simulation, command line, browser) and the samples. Fashion-MNIST tests need
# 'apt-get install dataset-fashion-mnist', the dashboard's browser tests 'apt-get install chromium' (.ci/run does both).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Federate.slnx -c Release
# The samples run as they are documented (each exits non-zero when what it shows does not hold).
for sample in samples/*/; do
  name=$(basename "$sample")
  echo "sample: $name"
  dotnet "$sample/bin/Release/net10.0/$name.dll" > /dev/null
done
dotnet test Federate.slnx -c Release --no-build "$@"
