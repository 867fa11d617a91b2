#!/usr/bin/env bash
# The fault campaign by hand (docs/faults.md): real itmo-node processes in network namespaces, a
# nemesis drawn from the seed, concurrent clients, then the history checker.
#
#   scripts/faults.sh --minutes 10 --seed 1        # one seed
#   scripts/faults.sh --minutes 10 --seed 1..3     # seeds 1, 2 and 3, one after the other
#   scripts/faults.sh --seed 7 --schedule-only     # print seed 7's schedule
# Other flags go to tests/faults/faults.py (--clients N, --observers N, --keep, --work DIR).
# Needs root (network namespaces, nftables, a tmpfs mount). Exit 0 only if every seed passed.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=1
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --seed) seeds=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ $seeds == *..* ]]; then
  seeds=$(seq "${seeds%..*}" "${seeds#*..}")
fi
export ITMO_BIN_DIR=${ITMO_BIN_DIR:-$PWD/${ITMO_BUILD_DIR:-build}/bin}
[[ -x $ITMO_BIN_DIR/itmo-node ]] || bash scripts/build.sh
failed=()
for seed in $seeds; do
  echo "==== faults: seed $seed"
  status=0
  python3 tests/faults/faults.py --seed "$seed" --bin-dir "$ITMO_BIN_DIR" "${args[@]}" || status=$?
  if [[ $status -eq 77 ]]; then exit 77; fi
  [[ $status -eq 0 ]] || failed+=("$seed")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "faults: FAILED seeds: ${failed[*]}" >&2
  exit 1
fi
echo "faults: every seed passed"
