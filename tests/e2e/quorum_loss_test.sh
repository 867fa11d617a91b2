#!/usr/bin/env bash
# e2e (3): stop 2 of 4 validators: no quorum, no commits, and the two survivors never disagree;
# restart them: progress resumes and every node agrees.
source "$(dirname "$0")/lib.sh"
e2e_init quorum_loss "${E2E_TIMEOUT:-400}"
net_create 4 0
net_start_all
open_account() { # NODE ACCOUNT_ID [--no-wait]
  "$CTL" tx --node "${API[$1]}" --localnet "$WORK/net" --signer CHE-NR --action open_account \
    --json "{\"account\": {\"ref\": {\"registry_id\": \"CHE-NR\", \"account_id\": \"$2\"},
             \"holder_party\": \"CHE\"}}" "${@:3}"
}
open_account validator-0 CHE-BEFORE >/dev/null || fail "a transaction before the outage failed"

node_stop validator-2
node_kill9 validator-3
log "stopped validator-2 (TERM) and validator-3 (KILL)"
sleep 2  # Let anything already certified settle.
h0=$(height validator-0)
h1=$(height validator-1)
open_account validator-0 CHE-DURING --no-wait --client-tx-id during-1 >/dev/null || fail "submission during the outage"
sleep 6
[[ $(height validator-0) -eq $h0 ]] || fail "validator-0 committed without a quorum ($h0 -> $(height validator-0))"
[[ $(height validator-1) -eq $h1 ]] || fail "validator-1 committed without a quorum ($h1 -> $(height validator-1))"
log "no commits without quorum (heights $h0, $h1)"
low=$((h0 < h1 ? h0 : h1))
[[ $low -ge 1 ]] && same_state "$low" validator-0 validator-1

node_start validator-2
node_start validator-3
wait_healthy validator-2
wait_healthy validator-3
wait_height validator-0 $((h0 + 1)) 120
# The transaction submitted during the outage commits once the quorum is back.
wait_committed validator-0 CHE-NR during-1 90
open_account validator-1 CHE-AFTER >/dev/null || fail "a transaction after the restart failed"
head=$(height validator-1)
for name in "${NODES[@]}"; do wait_height "$name" "$head" 90; done
same_state "$head" "${NODES[@]}"
e2e_pass
