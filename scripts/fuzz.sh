#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (-fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each for its share of N minutes (docs/fuzzing.md).
#
#   scripts/fuzz.sh --minutes N [--target fuzz_x]... [--jobs J] [--update-seeds] [--no-build]
#
#   --minutes N      total wall-clock budget; each of T targets runs N*J/T minutes (J at a time)
#   --target T       only these targets (repeatable; default: every tests/fuzz/fuzz_*.cc target)
#   --jobs J         targets run concurrently (default 1; the CI machine has 2 shared cores)
#   --update-seeds   also merge inputs that add coverage into the seed corpus in git
#                    (tests/fuzz/corpus/<name>/, libFuzzer -merge=1: only new features get in)
#   --no-build       use the binaries already in the build dir
#
# The working corpus persists in build-fuzz/work/<name>/ (out of git) and is minimized with
# -merge=1 after every run. A crash, leak, timeout or OOM input is copied into the seed corpus as
# tests/fuzz/corpus/<name>/crash-<sha1>, where the fuzz_<name>_smoke ctest replays it (fix the bug,
# keep the input). Logs: build-fuzz/logs/<target>.log; summary: build-fuzz/fuzz-summary.tsv.
# Exit status: 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${ITMO_FUZZ_BUILD_DIR:-build-fuzz}
minutes=""
jobs=1
update_seeds=0
build=1
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --update-seeds) update_seeds=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fuzz.sh: --minutes N is required" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: bad --jobs $jobs" >&2; exit 2; }

if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/fuzz_*.cc; do
    name=$(basename "$f" .cc)
    [[ $name == fuzz_seed_gen || $name == fuzz_world_test ]] && continue
    targets+=("$name")
  done
fi

if [[ $build -eq 1 ]]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DITMO_FUZZ=ON \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DITMO_BUILD_BENCHMARKS=OFF \
      "${launcher[@]}"
  fi
  cmake --build "$BUILD_DIR" -j "${ITMO_JOBS:-$(nproc)}" --target "${targets[@]}"
fi

seconds=$(python3 -c "import math; print(max(10, math.floor($minutes * 60 * $jobs / ${#targets[@]})))")
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
mkdir -p "$BUILD_DIR/logs" "$BUILD_DIR/work" "$BUILD_DIR/artifacts"

# run_one fuzz_x: fuzz, minimize the working corpus, collect findings. Prints a summary line.
run_one() {
  local target=$1 name=${1#fuzz_}
  local seeds=$ROOT/tests/fuzz/corpus/$name work=$ROOT/$BUILD_DIR/work/$name
  local artifacts=$ROOT/$BUILD_DIR/artifacts/$name log=$ROOT/$BUILD_DIR/logs/$target.log
  local bin=$ROOT/$BUILD_DIR/bin/$target
  mkdir -p "$seeds" "$work" "$artifacts"
  local rc=0
  # libFuzzer writes new inputs into its first corpus directory: the working corpus, never git.
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=25 \
    -artifact_prefix="$artifacts/" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  # Minimize the working corpus (keeps only inputs that add features).
  local merged=$work.merge
  rm -rf "$merged" && mkdir -p "$merged"
  "$bin" -merge=1 "$merged" "$work" >"$log.merge" 2>&1 && rm -rf "$work" && mv "$merged" "$work"
  rm -rf "$merged"
  if [[ $update_seeds -eq 1 ]]; then
    "$bin" -merge=1 "$seeds" "$work" >>"$log.merge" 2>&1 || true
  fi
  local found=0 f
  for f in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
    [[ -e $f ]] || continue
    found=$((found + 1))
    cp "$f" "$seeds/crash-$(sha1sum "$f" | cut -c1-16)"
  done
  local last stats_execs stats_rate
  last=$(grep -E '(INITED|NEW|REDUCE|pulse|DONE|RELOAD).*cov:' "$log" | tail -n 1 || true)
  stats_execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  stats_rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  local cov ft
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$seconds" "${stats_execs:-?}" \
    "${stats_rate:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$work" | wc -l)" \
    "$(( $(du -sb "$work" | cut -f1) / 1024 ))" "$found:$rc"
}

summary=$BUILD_DIR/fuzz-summary.tsv
printf 'target\tseconds\texecs\texecs_per_s\tcov\tft\tcorpus_files\tcorpus_kb\tfound:rc\n' \
  >"$summary"
running=0
for t in "${targets[@]}"; do
  if [[ $running -ge $jobs ]]; then wait -n || true; running=$((running - 1)); fi
  run_one "$t" >>"$summary" &
  running=$((running + 1))
done
wait
column -t -s $'\t' "$summary"
if awk -F'\t' 'NR > 1 { split($9, a, ":"); if (a[1] > 0) bad = 1 } END { exit !bad }' "$summary"; then
  echo "fuzz.sh: FOUND crashes: see $BUILD_DIR/artifacts/ and tests/fuzz/corpus/*/crash-*" >&2
  exit 1
fi
