#!/usr/bin/env bash
# e2e (1): 4 validators + 1 observer, a few hundred transactions (itmo-bench), then every node,
# the observer included, holds the same block and state root at the same height.
source "$(dirname "$0")/lib.sh"
e2e_init consistency "${E2E_TIMEOUT:-400}"
net_create 4 1
net_start_all
log "network up; submitting 300 transfers"

out=$("$BIN/itmo-bench" --localnet "$WORK/net" --txs 300 --streams 2 --timeout 180) ||
  fail "itmo-bench failed: $out"
log "bench: $out"
committed=$(json_field committed <<<"$out")
accepted=$(json_field committed_accepted <<<"$out")
last=$(json_field height_last <<<"$out")
[[ $committed -eq 300 ]] || fail "expected 300 committed transactions, got $committed"
[[ $accepted -eq 300 ]] || fail "expected 300 accepted transfers, got $accepted"

for name in "${NODES[@]}"; do wait_height "$name" "$last" 60; done
same_state "$last" "${NODES[@]}"
# And at an earlier height, to check the history, not just the head.
same_state $(((last + 1) / 2)) "${NODES[@]}"
# Holdings agree too: CHE received the 300 units on every node.
for name in "${NODES[@]}"; do
  units=$("$CTL" holdings --node "${API[$name]}" --account CHE-NR/CHE-HOLDING |
    python3 -c "import json,sys; print(json.load(sys.stdin).get('held_units', 0))")
  [[ $units -ge 300 ]] || fail "$name: CHE-NR/CHE-HOLDING holds $units units, expected >= 300"
done
e2e_pass
