#!/usr/bin/env bash
# Records the libraries' public API: every symbol the public API analyzer reports as undeclared (RS0016) is added to
# the project's PublicAPI.Unshipped.txt, and every declared symbol that no longer exists (RS0017) is removed from it.
# Run after adding or changing public API; review the diff. Usage: scripts/update-public-api.sh [Federate.Core ...]
set -euo pipefail
cd "$(dirname "$0")/.."
projects=("$@")
[ ${#projects[@]} -gt 0 ] || projects=(Federate.Core Federate.Learning Federate.State Federate.Security Federate.Protocol Federate.Simulation Federate.Server Federate.Client Federate.TorchSharp)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for p in "${projects[@]}"; do
  dotnet build "src/$p/$p.csproj" -c Release --no-incremental -p:StrictPublicApi=false -nologo -v:q \
    "-flp:WarningsOnly;NoSummary;LogFile=$log" > /dev/null || true
  python3 - "$log" "src/$p" <<'PY'
import re, sys
log, folder = sys.argv[1], sys.argv[2]
added, removed = set(), set()
for line in open(log, encoding="utf-8"):
    if f"[{folder}/" not in line and f"/{folder}/" not in line:
        continue
    m = re.search(r"RS0016: Symbol '(.*)' is not part of the declared public API", line)
    if m:
        added.add(m.group(1))
    m = re.search(r"RS0017: Symbol '(.*)' is part of the declared API, but is either not public or could not be found", line)
    if m:
        removed.add(m.group(1))
path = f"{folder}/PublicAPI.Unshipped.txt"
lines = [l.rstrip("\n") for l in open(path, encoding="utf-8")]
header = [l for l in lines if l.startswith("#")] or ["#nullable enable"]
body = {l for l in lines if l and not l.startswith("#")}
body = (body - removed) | added
open(path, "w", encoding="utf-8").write("\n".join(header + sorted(body, key=str.casefold)) + "\n")
print(f"{folder}: {len(added)} added, {len(removed)} removed")
PY
done
