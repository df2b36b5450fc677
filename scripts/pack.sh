#!/usr/bin/env bash
# Packs Federate into a folder feed: the libraries (with .snupkg symbols), the federate tool and the templates.
# Undeclared public API fails the pack (see scripts/update-public-api.sh); SourceLink is on when the clone has an
# 'origin' remote. Usage: scripts/pack.sh [FEED_DIR (default ./artifacts/feed)] [VERSION (default VersionPrefix)]
set -euo pipefail
cd "$(dirname "$0")/.."
feed=$(realpath -m "${1:-artifacts/feed}")
version="${2:-$(dotnet msbuild src/Federate.Core/Federate.Core.csproj -getProperty:VersionPrefix)}"
mkdir -p "$feed"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
sourcelink=false
git remote get-url origin > /dev/null 2>&1 && sourcelink=true
props=(-c Release -nologo -v:q -p:ContinuousIntegrationBuild=true -p:EnableSourceLink=$sourcelink -p:Version="$version")
for project in src/Federate.Cli/Federate.Cli.csproj src/Federate.TorchSharp/Federate.TorchSharp.csproj; do
  dotnet build "$project" "${props[@]}" -p:StrictPublicApi=true > "$log" \
    || { grep -E "error" "$log" | sort -u | head -20; echo "pack: build failed (undeclared public API? run scripts/update-public-api.sh)"; exit 1; }
done
for p in Federate.Core Federate.Learning Federate.State Federate.Security Federate.Protocol Federate.Simulation Federate.Server Federate.Client Federate.TorchSharp Federate.Cli; do
  dotnet pack "src/$p/$p.csproj" "${props[@]}" --no-build -o "$feed" > "$log" || { cat "$log"; exit 1; }
done
dotnet pack templates/Federate.Templates.csproj -c Release -nologo -v:q -p:Version="$version" -o "$feed" > "$log" || { cat "$log"; exit 1; }
echo "pack: Federate $version in $feed"
