#!/usr/bin/env bash
# ctest clients_typescript: installs the pinned npm dependencies (npm ci from package-lock.json, only
# when the lockfile changed), compiles with tsc into dist/, runs node's test runner against a local
# network. Exits 77 (ctest SKIP_RETURN_CODE) with a message only when node/npm are missing or npm ci
# cannot reach the registry (offline); CI has the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
skip() {
  echo "SKIP clients_typescript: $*" >&2
  exit 77
}
command -v node >/dev/null || skip "node is not installed (scripts/install-deps.sh installs nodejs and npm)"
command -v npm >/dev/null || skip "npm is not installed (scripts/install-deps.sh installs nodejs and npm)"
stamp=node_modules/.itmo-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  if ! timeout 300 npm ci --no-audit --no-fund --loglevel=error; then
    skip "npm ci failed: is the npm registry reachable? (offline machines cannot fetch @grpc/grpc-js etc.)"
  fi
  echo "$want" >"$stamp"
fi
rm -rf dist
node_modules/.bin/tsc -p .
exec timeout 240 node --test --test-concurrency=1 dist/test/*.test.js
