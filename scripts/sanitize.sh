#!/usr/bin/env bash
# The clang sanitizer jobs of CI (docs/ci.md). Each builds only the targets it runs, with clang,
# -Wthread-safety -Werror (itmo::warnings) and ccache, in its own build directory:
#
#   scripts/sanitize.sh asan   build-asan/: ASan + UBSan; ctest -L unit, the sim_test cases and
#                              itmo-sim --seeds $ITMO_SIM_SEEDS (default 100)
#   scripts/sanitize.sh tsan   build-tsan/: TSan; the node unit tests (itmo_node_test,
#                              itmo_node_tls_test) and the mTLS transport tests
#                              (itmo_node_transport_test), with tests/testing/tsan.supp
#   scripts/sanitize.sh all    both, in that order
#
# Any sanitizer report fails the job (halt_on_error, -fno-sanitize-recover=undefined). Prints the
# time of each build and test step.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${1:-all}
JOBS=${ITMO_JOBS:-$(nproc)}
SIM_SEEDS=${ITMO_SIM_SEEDS:-100}
UNIT_TARGETS=(itmo_base_test itmo_crypto_test itmo_storage_test itmo_ledger_test
              itmo_consensus_test itmo_node_test itmo_node_tls_test itmo_ctl_test)
NODE_TARGETS=(itmo_node_test itmo_node_tls_test itmo_node_transport_test)

step() {  # step NAME COMMAND...: runs and times one step.
  local name=$1 t0=$SECONDS
  shift
  echo "sanitize.sh: $name ..."
  "$@"
  echo "sanitize.sh: $name took $((SECONDS - t0)) s"
}

configure() {  # configure DIR SANITIZER
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  if [[ ! -f $1/build.ninja ]]; then
    cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DITMO_SANITIZE="$2" \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DITMO_BUILD_BENCHMARKS=OFF \
      "${launcher[@]}" >/dev/null
  fi
}

asan() {
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  configure build-asan address
  step "asan build" cmake --build build-asan -j "$JOBS" --target "${UNIT_TARGETS[@]}" sim_test \
    itmo-sim
  step "asan unit tests" ctest --test-dir build-asan -L unit -j "$JOBS" --output-on-failure \
    --timeout 600
  step "asan sim tests" ctest --test-dir build-asan -L sim -E '^sim_(seeds|mutation)|TwinsShard' -j "$JOBS" \
    --output-on-failure --timeout 600
  step "asan itmo-sim --seeds $SIM_SEEDS" build-asan/bin/itmo-sim --seeds "$SIM_SEEDS" \
    --first-seed 10000
}

tsan() {
  # Suppressions cover uninstrumented Debian libraries only (the file says why, line by line);
  # tests/testing/tsan_absl_sync.cc gives TSan absl::Mutex's synchronization.
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/testing/tsan.supp}
  configure build-tsan thread
  step "tsan build" cmake --build build-tsan -j "$JOBS" --target "${NODE_TARGETS[@]}"
  local t
  for t in "${NODE_TARGETS[@]}"; do
    step "tsan $t" build-tsan/bin/"$t"
  done
}

case $job in
  asan) asan ;;
  tsan) tsan ;;
  all) asan; tsan ;;
  *) echo "usage: $0 asan|tsan|all" >&2; exit 2 ;;
esac
