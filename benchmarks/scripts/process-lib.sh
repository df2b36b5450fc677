# Shared shell functions for the benchmarks that run real `federate server` and `federate client` processes
# (sourced from the repository root by benchmarks/scripts/fleet-run.sh, benchmarks/transport/processes.sh and
# benchmarks/datapath/profile.sh).

# wait_for_port LOG WHAT: prints the port the server ($SP) listens on, or exits with its log's tail.
wait_for_port() {
  local log=$1 what=$2 port=""
  for _ in $(seq 1 600); do
    port=$(grep -oE "listening on [^ ]*:[0-9]+" "$log" 2>/dev/null | grep -oE "[0-9]+$" | head -1 || true)
    [ -n "$port" ] && break
    kill -0 "$SP" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "server did not start ($what):" >&2
    tail -5 "$log" >&2
    exit 1
  fi
  echo "$port"
}

# security_args TLS NAME: sets SEC_SERVER and SEC_CLIENT: kits for a server and client "c1" provisioned under
# $WORK/kits (TLS and AES-GCM payload encryption) when TLS is 1, else --insecure for both.
security_args() {
  if [ "$1" = 1 ]; then
    dotnet "$F" provision --name "$2" --server 127.0.0.1 --clients c1 --out "$WORK/kits" >/dev/null
    SEC_SERVER=(--kit "$WORK/kits/server")
    SEC_CLIENT=(--kit "$WORK/kits/c1")
  else
    SEC_SERVER=(--insecure)
    SEC_CLIENT=(--insecure)
  fi
}
