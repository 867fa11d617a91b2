#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test (unit, sim, e2e, fuzz smoke, bench smoke) with ctest.
# Exits non-zero on any failure. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
bash scripts/check_deps.sh
bash scripts/build.sh
BUILD_DIR=${ITMO_BUILD_DIR:-build}
cd "$BUILD_DIR"
# The mutation label (scripts/mutate.sh, over an hour) runs only by hand.
ctest --output-on-failure -j "${ITMO_TEST_JOBS:-2}" --timeout 900 -LE mutation "$@"
echo "test.sh: finished in $(( $(date +%s) - start )) s"
