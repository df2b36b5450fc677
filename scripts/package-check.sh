#!/usr/bin/env bash
# Packs Federate into a local folder feed and uses it as a user would, with a temporary NuGet packages folder and
# config (the user's cache is only read, as an offline source, never written):
#   1. builds with the packed version (so everything compiles again) and strict public API (undeclared API fails, see
#      scripts/update-public-api.sh), and checks each package's readme, docs, symbols and the server's props;
#   2. installs the tool from the feed into a temporary tool path and runs 'federate sim --rounds 2';
#   3. builds and runs samples/PackageConsumer against the feed (package references);
#   4. installs the template pack (templates/) in a temporary hive, instantiates each template, builds them against
#      the feed and runs them: a server app with a real 'federate client', a client app against the tool's server,
#      and a strategy.
# Usage: scripts/package-check.sh [--keep]   (--keep leaves the work folder and prints its path)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${1:-}" != "--keep" ]; then rm -rf "$work"; else echo "work folder: $work"; fi
}
trap 'cleanup "${KEEP:-}"' EXIT
[ "${1:-}" = "--keep" ] && KEEP=--keep

cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
feed="$work/feed"
mkdir -p "$feed" "$work/packages"
version="$(dotnet msbuild src/Federate.Core/Federate.Core.csproj -getProperty:VersionPrefix)-check"
export NUGET_PACKAGES="$work/packages"
export DOTNET_CLI_HOME="$work/home"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="federate-local" value="$feed" />
    <add key="user-cache" value="$cache" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
XML
cp "$work/nuget.config" "$work/NuGet.Config"

libraries=(Federate.Core Federate.Learning Federate.State Federate.Security Federate.Protocol Federate.Simulation Federate.Server Federate.Client Federate.TorchSharp)

# The repository's own build uses the user's NuGet cache; only the consumers below use the temporary one.
NUGET_PACKAGES="$cache" scripts/pack.sh "$feed" "$version"

# Each package: readme, XML docs and symbols; the server's buildTransitive props; the tool's entry point.
entries() { python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; }
for p in "${libraries[@]}"; do
  nupkg="$feed/$p.$version.nupkg"
  listing=$(entries "$nupkg")
  for f in README.md "lib/net10.0/$p.dll" "lib/net10.0/$p.xml"; do
    grep -qxF "$f" <<< "$listing" || { echo "package-check: $p has no $f"; exit 1; }
  done
  # (listings are read whole first: 'list | grep -q' fails under pipefail when grep stops reading early)
  symbols=$(entries "$feed/$p.$version.snupkg")
  grep -qxF "lib/net10.0/$p.pdb" <<< "$symbols" || { echo "package-check: $p has no symbols"; exit 1; }
  printf '  %-22s %9d bytes (+ %d bytes symbols)\n' "$p" "$(stat -c %s "$nupkg")" "$(stat -c %s "$feed/$p.$version.snupkg")"
done
server=$(entries "$feed/Federate.Server.$version.nupkg")
grep -qxF "buildTransitive/Federate.Server.props" <<< "$server" || { echo "package-check: Federate.Server lacks buildTransitive/Federate.Server.props"; exit 1; }
torchsharp=$(entries "$feed/Federate.TorchSharp.$version.nupkg")
grep -qxF "buildTransitive/Federate.TorchSharp.targets" <<< "$torchsharp" || { echo "package-check: Federate.TorchSharp lacks buildTransitive/Federate.TorchSharp.targets"; exit 1; }
tool=$(entries "$feed/federate.$version.nupkg")
grep -qxF "tools/net10.0/any/DotnetToolSettings.xml" <<< "$tool" || { echo "package-check: federate is not a .NET tool package"; exit 1; }
printf '  %-22s %9d bytes\n' "federate (tool)" "$(stat -c %s "$feed/federate.$version.nupkg")"
printf '  %-22s %9d bytes\n' "Federate.Templates" "$(stat -c %s "$feed/Federate.Templates.$version.nupkg")"

# 2. The tool, installed from the feed.
cd "$work"
dotnet tool install --tool-path "$work/tools" --configfile "$work/nuget.config" federate --version "$version" > "$work/tool-install.log" \
  || { cat "$work/tool-install.log"; exit 1; }
printed=$("$work/tools/federate" --version)
[[ "$printed" == "$version"* ]] || { echo "package-check: federate --version printed '$printed', not $version"; exit 1; }
"$work/tools/federate" sim --rounds 2 --clients 4 --local-epochs 1 --out "$work/sim" > "$work/sim.log" 2>&1 || { cat "$work/sim.log"; exit 1; }
grep -q '^round   2/2' "$work/sim.log" || { cat "$work/sim.log"; echo "package-check: the installed tool did not run 2 rounds"; exit 1; }
[ -s "$work/sim/model.safetensors" ] || { echo "package-check: the installed tool wrote no model"; exit 1; }
echo "package-check: tool installed from the feed ran 'federate sim --rounds 2'"

# 3. A project consuming the packages.
cp -r "$repo/samples/PackageConsumer" "$work/consumer"
rm -rf "$work/consumer/bin" "$work/consumer/obj"
(cd "$work/consumer" && dotnet run -c Release -p:FederateVersion="$version" > "$work/consumer.log" 2>&1) || { cat "$work/consumer.log"; exit 1; }
grep -q '"Federate.Core/'"$version"'"' "$work/consumer/obj/project.assets.json" || { echo "package-check: the consumer did not restore Federate.Core $version from the feed"; exit 1; }
tail -1 "$work/consumer.log"
echo "package-check: samples/PackageConsumer built and ran against the packages"

# 4. The templates.
"$repo/scripts/template-check.sh" "$work" "$version"
echo "package-check: OK"
