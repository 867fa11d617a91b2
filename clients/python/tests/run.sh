#!/usr/bin/env bash
# ctest clients_python: the Python client's tests against a local network (tests/run.py). Uses the
# Debian interpreter (/usr/bin/python3), where python3-grpcio, python3-grpc-tools and python3-nacl live.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=${ITMO_PYTHON:-/usr/bin/python3}
[[ -x $PY ]] || PY=python3
export ITMO_LEDGER_STUBS=${ITMO_LEDGER_STUBS:-${ITMO_CLIENTS_BUILD_DIR:-$here/../../../build/clients}/python/gen}
export PYTHONDONTWRITEBYTECODE=1
exec timeout 240 "$PY" "$here/run.py" "$@"
