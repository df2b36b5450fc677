#!/usr/bin/env bash
# Runs the whole test suite (unit, simulation, command line). Fashion-MNIST tests need
# 'apt-get install dataset-fashion-mnist' (.ci/run does it).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Federate.slnx -c Release
dotnet test Federate.slnx -c Release --no-build "$@"
