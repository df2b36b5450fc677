# Shared by benchmarks/memory/run.sh and benchmarks/clients/run.sh (sourced from the repository root): the federate
# CLI to run, a work folder removed on exit with the processes still running, and a server's port read from its log.
# FEDERATE_DLL runs an already built federate.dll (e.g. a copy of an earlier build, to compare before and after).
if [ -n "${FEDERATE_DLL:-}" ]; then
  F=$FEDERATE_DLL
else
  dotnet build src/Federate.Cli -c Release -nologo -v quiet >/dev/null
  F=src/Federate.Cli/bin/Release/net10.0/federate.dll
fi
WORK=$(mktemp -d)
SP=""
CP=""
cleanup() {
  [ -n "$CP" ] && kill "$CP" 2>/dev/null || true
  [ -n "$SP" ] && kill "$SP" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

. benchmarks/scripts/process-lib.sh

# finish_run LOG WHAT: waits for the server ($SP) to exit, stops the client ($CP), fails on a server error.
finish_run() {
  local log=$1 what=$2 rc=0
  wait "$SP" || rc=$?
  SP=""
  kill "$CP" 2>/dev/null || true
  wait "$CP" 2>/dev/null || true
  CP=""
  if [ "$rc" -ne 0 ]; then
    echo "server exited with status $rc ($what):" >&2
    tail -5 "$log" >&2
    exit 1
  fi
}
