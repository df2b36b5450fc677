#!/usr/bin/env bash
# Lints the Dockerfile with two linters from npm, dockerfilelint and dockerfile-utils (no container engine needed),
# and checks that compose.yaml parses and names a server, three clients and Prometheus. The tools go to a temporary
# folder. Usage: scripts/lint-container.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
npm install --prefix "$tools" --no-audit --no-fund --silent dockerfilelint@1.8.0 dockerfile-utils@0.16.3 > /dev/null
"$tools/node_modules/.bin/dockerfilelint" Dockerfile
problems=$("$tools/node_modules/.bin/dockerfile-utils" lint Dockerfile)
[ -z "$problems" ] || { echo "$problems"; exit 1; }
NODE_PATH="$tools/node_modules" node -e '
const compose = require("js-yaml").load(require("fs").readFileSync("compose.yaml", "utf8"));
const names = Object.keys(compose.services);
const clients = names.filter(n => compose.services[n].command && compose.services[n].command[0] === "client");
if (!names.includes("server") || clients.length !== 3 || !names.includes("prometheus")) { console.error("compose.yaml: expected server, 3 clients and prometheus, got " + names); process.exit(1); }
console.log("compose.yaml: " + names.join(", "));'
echo "lint-container: Dockerfile clean (dockerfilelint, dockerfile-utils)"
