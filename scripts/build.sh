#!/usr/bin/env bash
# Configures and builds into build/ (or $ITMO_BUILD_DIR). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ITMO_BUILD_DIR:-build}
JOBS=${ITMO_JOBS:-$(nproc)}
LAUNCHER=()
# ccache, when the machine has it, makes rebuilds in several work trees cheap; CI does without it.
if command -v ccache >/dev/null 2>&1; then LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${ITMO_BUILD_TYPE:-RelWithDebInfo} \
    "${LAUNCHER[@]}" "$@"
fi
cmake --build "$BUILD_DIR" -j "$JOBS"
