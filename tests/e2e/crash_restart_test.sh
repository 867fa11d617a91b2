#!/usr/bin/env bash
# e2e (2): kill -9 one validator under load: the other three keep committing; restart it: it catches
# up and agrees with the others.
source "$(dirname "$0")/lib.sh"
e2e_init crash_restart "${E2E_TIMEOUT:-400}"
net_create 4 1
net_start_all
victim=validator-3
targets="${API[validator-0]},${API[validator-1]},${API[validator-2]}"

start=$(height validator-0)
"$BIN/itmo-bench" --localnet "$WORK/net" --txs 3000 --streams 2 --timeout 240 --nodes "$targets" \
  >"$WORK/bench.json" 2>"$WORK/bench.err" &
bench=$!
# The bench's three setup transactions commit first; then the transfers flow.
wait_height validator-0 $((start + 4)) 60
sleep 0.3
log "under load at height $(height validator-0): kill -9 $victim"
node_kill9 "$victim"
at_kill=$(height validator-0)
wait_height validator-0 $((at_kill + 3)) 60
log "still committing without $victim: height $(height validator-0)"

wait "$bench" || fail "itmo-bench failed: $(cat "$WORK/bench.err")"
committed=$(json_field committed <"$WORK/bench.json")
[[ $committed -eq 3000 ]] || fail "expected 3000 committed transactions, got $committed"
log "bench: $(cat "$WORK/bench.json")"
head=$(height validator-0)
log "load done at height $head; restarting $victim"

node_start "$victim"
wait_healthy "$victim"
wait_height "$victim" "$head" 120
same_state "$head" validator-0 validator-1 validator-2 "$victim" observer-0
# It takes part again: new transactions commit on every node, the restarted one included.
"$CTL" tx --node "${API[$victim]}" --localnet "$WORK/net" --signer GHA-NR --action open_account \
  --json '{"account": {"ref": {"registry_id": "GHA-NR", "account_id": "GHA-AFTER-RESTART"},
           "holder_party": "GHA"}}' >/dev/null || fail "a transaction after the restart failed"
after=$(height validator-0)
wait_height "$victim" "$after" 60
same_state "$after" validator-0 "$victim"
e2e_pass
