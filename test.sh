#!/usr/bin/env bash
# Runs the whole test suite (unit, simulation, command line, browser). Fashion-MNIST tests need
# 'apt-get install dataset-fashion-mnist', the dashboard's browser tests 'apt-get install chromium' (.ci/run does both).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build Federate.slnx -c Release
dotnet test Federate.slnx -c Release --no-build "$@"
