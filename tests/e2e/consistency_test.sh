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
# The integrator reads (itmoctl approaches/authorization/accounts/parties) agree on every node: the
# bench's authorization has its version 1 and 300 units of cap used; paged listings are complete.
tag=$("$CTL" approaches --node "${API[${NODES[0]}]}" --all --page-size 1 | python3 -c "
import json, sys
ids = [a['id'] for a in json.load(sys.stdin).get('approaches', [])]
print([i for i in ids if i.startswith('CA-BENCH-')][0][len('CA-BENCH-'):])") ||
  fail "itmoctl approaches did not list the bench's approach"
reads=""
for name in "${NODES[@]}"; do
  auth=$("$CTL" authorization --node "${API[$name]}" --id "GHA-AUTH-BENCH-$tag" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(d['cap_used'], d['current_version'], len(d['versions']), d['versions'][0]['submitter'])") ||
    fail "$name: itmoctl authorization failed"
  [[ $auth == "300 1 1 GHA" ]] || fail "$name: authorization reads '$auth', expected '300 1 1 GHA'"
  count() { python3 -c "import json,sys; print(len(json.load(sys.stdin).get('$1', [])))"; }
  accounts=$("$CTL" accounts --node "${API[$name]}" --all --page-size 2 | count accounts)
  che=$("$CTL" accounts --node "${API[$name]}" --all --party CHE | count accounts)
  parties=$("$CTL" parties --node "${API[$name]}" --all --page-size 1 | count parties)
  [[ $accounts -gt 0 && $che -gt 0 && $che -le $accounts && $parties -gt 1 ]] ||
    fail "$name: listings: $accounts accounts, $che of CHE, $parties parties"
  this="$accounts $che $parties"
  [[ -z $reads || $reads == "$this" ]] || fail "$name: listings '$this' differ from '$reads'"
  reads=$this
done
log "reads agree on every node: authorization $auth; accounts, CHE accounts, parties: $reads"
e2e_pass
