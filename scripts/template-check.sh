#!/usr/bin/env bash
# Called by scripts/package-check.sh with its work folder (holding feed/, NuGet.Config and the temporary NuGet
# packages folder) and the packed version: installs Federate.Templates into a temporary template hive, creates a
# project from each template, builds it against the feed, and runs it: the strategy's simulation for 2 rounds, and
# the server app for 1 round with the client app as its one client (free loopback ports).
set -euo pipefail
work="$1"
version="$2"
hive="$work/template-hive"
apps="$work/apps"
mkdir -p "$apps"
dotnet new install "$work/feed/Federate.Templates.$version.nupkg" --debug:custom-hive "$hive" > "$work/template-install.log" \
  || { cat "$work/template-install.log"; exit 1; }
for t in server client strategy; do
  dotnet new "federate-$t" -n "Fleet${t^}" -o "$apps/$t" --debug:custom-hive "$hive" > "$work/new-$t.log" || { cat "$work/new-$t.log"; exit 1; }
  (cd "$apps/$t" && dotnet build -c Release -nologo -v:q > "$work/build-$t.log" 2>&1) || { cat "$work/build-$t.log"; exit 1; }
  grep -q "Federate.Core/$version" "$apps/$t/obj/project.assets.json" || { echo "template-check: $t did not restore Federate $version from the feed"; exit 1; }
done
# Federate.Server's buildTransitive props reached the app: the server's runtime settings are in its runtimeconfig.
grep -q '"System.GC.LOHThreshold": 8388608' "$apps/server/bin/Release/net10.0/FleetServer.runtimeconfig.json" \
  || { echo "template-check: the server app lacks Federate.Server's runtime settings (buildTransitive props)"; exit 1; }
echo "template-check: created and built federate-server, federate-client and federate-strategy"

# The strategy's simulation.
(cd "$apps/strategy" && dotnet bin/Release/net10.0/FleetStrategy.dll --rounds 2 > "$work/strategy.log" 2>&1) || { cat "$work/strategy.log"; exit 1; }
grep -q '^fedavg-server-lr: accuracy [0-9.]* after 2 rounds$' "$work/strategy.log" || { cat "$work/strategy.log"; exit 1; }
cat "$work/strategy.log"

# The server app for one round, with the client app as its client.
(cd "$apps/server" && exec dotnet bin/Release/net10.0/FleetServer.dll --Rounds 1 --MinClients 1 --Port 0 --InspectorPort 0) > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do grep -q '^fleet: ' "$work/server.log" && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
port=$(sed -n 's/^fleet: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
[ -n "$port" ] || { cat "$work/server.log"; kill "$server" 2>/dev/null; exit 1; }
inspector=$(sed -n 's/^fleet: .*inspector: \(http:[^ ]*\)\/$/\1/p' "$work/server.log")
(cd "$apps/client" && timeout 300 dotnet bin/Release/net10.0/FleetClient.dll --server "127.0.0.1:$port" --partition 0 --partitions 1) > "$work/client.log" 2>&1 \
  || { cat "$work/server.log" "$work/client.log"; kill "$server" 2>/dev/null; exit 1; }
wait "$server" || { cat "$work/server.log"; exit 1; }
grep -q "client 0: Finished" "$work/client.log" || { cat "$work/client.log"; exit 1; }
echo "template-check: the server app ran 1 round with the client app ($inspector was its inspector)"
