#!/usr/bin/env bash
# spec/check.sh: checks spec/jolteon.pml with SPIN.
#   1. the model as written, exhaustively (every reachable state within the bounds): agreement
#      must hold (0 errors);
#   2. each mutant (a weakened safety rule): SPIN must find an agreement violation.
#
# Usage: spec/check.sh [--rounds R --blocks B] [--mutant-rounds R --mutant-blocks B] [--keep DIR]
#                      [--deep]
# Defaults: the model at 3 rounds / 5 block slots (about 2.4 million states with the symmetry
# reduction, ~11 s here), the mutants at 4 rounds / 5 slots (each found within 0.5-12 million
# states, ~100 s for all five). Exit 0 only when the model passes and every mutant fails.
# --deep: also the model at 4 rounds / 5 slots with hash-compact state storage (-DHC4: about 114
# million states, 4 min and 5.5 GB here; a state is missed only on a 32-bit hash-compact collision,
# so this is near-exhaustive, not a proof). Needs spin and gcc (scripts/install-deps.sh).
set -euo pipefail

rounds=3
blocks=5
mutant_rounds=4
mutant_blocks=5
keep=""
deep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --blocks) blocks="$2"; shift 2 ;;
    --mutant-rounds) mutant_rounds="$2"; shift 2 ;;
    --mutant-blocks) mutant_blocks="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --deep) deep=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "spec/check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in spin gcc; do
  if ! command -v "$tool" >/dev/null; then
    echo "spec/check.sh: $tool not found (bash scripts/install-deps.sh)" >&2
    exit 2
  fi
done

model="$(cd "$(dirname "$0")" && pwd)/jolteon.pml"
work="${keep:-$(mktemp -d)}"
mkdir -p "$work"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT

MUTANTS=(WEAK_LOCK WEAK_QUORUM WEAK_TIMEOUT_LOCK WEAK_LAST_VOTED WEAK_TIMEOUT_ROUND)

# run NAME ROUNDS BLOCKS [DEFINE [PAN_CFLAG]]: prints "errors states seconds", leaves pan.out in
# $work/NAME.
run() {
  local name="$1" r="$2" b="$3" define="${4:-}" pan_cflag="${5:-}"
  local dir="$work/$name"
  mkdir -p "$dir"
  cp "$model" "$dir/jolteon.pml"
  (
    cd "$dir"
    spin -a -DROUNDS="$r" -DBLOCKS="$b" ${define:+-D$define} jolteon.pml >spin.out
    # SAFETY: assertions and invalid end states only; NOREDUCE: every d_step is already atomic.
    gcc -O2 -w -DSAFETY -DNOREDUCE ${pan_cflag} -o pan pan.c
    local start end
    start=$(date +%s.%N)
    # -m: search depth bound (far above the deepest path); -w27: 2^27-slot hash table.
    ./pan -m100000 "-w${PAN_HASH_BITS:-27}" >pan.out 2>&1 || true
    end=$(date +%s.%N)
    local errors states
    errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.out | head -1)
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.out | head -1)
    if grep -q "max search depth too small" pan.out; then errors="depth"; fi
    echo "${errors:-?} ${states:-?} $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')"
  )
}

failed=0
read -r errors states secs < <(run model "$rounds" "$blocks")
printf '%-22s rounds=%s blocks=%s  %12s states  %6ss  errors=%s  ' model "$rounds" "$blocks" \
  "$states" "$secs" "$errors"
if [[ "$errors" == "0" ]]; then
  echo "PASS (agreement holds in every reachable state)"
else
  echo "FAIL (see $work/model/pan.out; spin -t -p jolteon.pml there replays the trail)"
  failed=1
fi

if [[ "$deep" == 1 ]]; then
  read -r errors states secs < <(PAN_HASH_BITS=28 run model-deep 4 5 "" -DHC4)
  printf '%-22s rounds=4 blocks=5  %12s states  %6ss  errors=%s  ' model-hc4 "$states" "$secs" \
    "$errors"
  if [[ "$errors" == "0" ]]; then echo "PASS (hash-compact)"; else echo "FAIL"; failed=1; fi
fi

for mutant in "${MUTANTS[@]}"; do
  read -r errors states secs < <(run "$mutant" "$mutant_rounds" "$mutant_blocks" "$mutant")
  printf '%-22s rounds=%s blocks=%s  %12s states  %6ss  errors=%s  ' "$mutant" "$mutant_rounds" \
    "$mutant_blocks" "$states" "$secs" "$errors"
  if [[ "$errors" =~ ^[1-9] ]] && grep -q "assertion violated" "$work/$mutant/pan.out"; then
    echo "CAUGHT (agreement violated)"
  else
    echo "SURVIVED (the model does not depend on this rule within the bounds)"
    failed=1
  fi
done

if [[ "$failed" == 0 ]]; then
  echo "spec: model passes, all ${#MUTANTS[@]} mutants caught"
else
  echo "spec: FAILED"
fi
exit "$failed"
