#!/usr/bin/env bash
# Mutation testing: deletes every verification step of the consensus core, one at a time, and
# shows the deterministic simulator alone catching each (see scripts/mutate.py for the rules).
#   scripts/mutate.sh [--seeds 200] [--first-seed 1] [--only quorum] [--list]
# Takes about a minute per mutant on 2 cores; run by hand or with `ctest -L mutation`, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice python3 scripts/mutate.py "$@"
