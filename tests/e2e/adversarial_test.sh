#!/usr/bin/env bash
# e2e (4): a peer whose certificate is not pinned in genesis is refused; a transaction signed with
# another registry's key is rejected; a replayed client transaction id is rejected; oversized and
# malformed requests get an error and the node keeps serving and committing.
source "$(dirname "$0")/lib.sh"
e2e_init adversarial "${E2E_TIMEOUT:-300}"
net_create 4 1
net_start_all
node0=${API[validator-0]}

# (a) mTLS: certificates not in genesis are refused, under a new name and under a genesis name.
mkdir -p "$WORK/rogue" "$WORK/impostor"
"$CTL" keygen --tls validator-9 --out-dir "$WORK/rogue" >/dev/null
"$CTL" keygen --tls validator-1 --out-dir "$WORK/impostor" >/dev/null
for who in rogue impostor; do
  rc=0
  out=$("$CTL" peer-probe --address "${PEER[validator-0]}" --target-name validator-0 \
    --cert "$WORK/$who/tls.crt" --key "$WORK/$who/tls.key" --genesis "$WORK/net/genesis.json") ||
    rc=$?
  [[ $rc -eq 2 ]] || fail "peer with a $who certificate was not refused (exit $rc): $out"
  log "$who certificate: $out"
done

transfer='{"from": {"registry_id": "GHA-NR", "account_id": "GHA-HOLDING"},
  "to": {"registry_id": "CHE-NR", "account_id": "CHE-HOLDING"},
  "ranges": [{"originating_registry": "GHA-NR", "first": "1", "last": "1"}]}'
# (b) Signed with the wrong registry's key (CHE-NR signs for GHA-NR).
rc=0
out=$("$CTL" tx --node "$node0" --localnet "$WORK/net" --signer CHE-NR --action transfer \
  --json "$transfer" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a transfer signed with another registry's key was accepted: $out"
grep -Eq "PERMISSION_DENIED|REASON_MISSING_SIGNATURE|REASON_UNAUTHORIZED_SIGNER" <<<"$out" ||
  fail "wrong-key rejection without its code: $out"
log "wrong registry key: $(tail -n 1 <<<"$out")"

# (c) Replay: the same signed transaction again, then another body with the same client_tx_id.
account='{"account": {"ref": {"registry_id": "GHA-NR", "account_id": "GHA-REPLAY"},
  "holder_party": "GHA"}}'
"$CTL" tx --node "$node0" --localnet "$WORK/net" --signer GHA-NR --action open_account \
  --json "$account" --client-tx-id replay-1 >/dev/null || fail "first open_account failed"
rc=0
out=$("$CTL" tx --node "$node0" --localnet "$WORK/net" --signer GHA-NR --action open_account \
  --json "$account" --client-tx-id replay-1 2>&1) || rc=$?
[[ $rc -ne 0 ]] && grep -Eq "ALREADY_EXISTS|REASON_DUPLICATE_TRANSACTION" <<<"$out" ||
  fail "an identical replay was not rejected as a duplicate (exit $rc): $out"
log "identical replay: $(tail -n 1 <<<"$out")"
rc=0
out=$("$CTL" tx --node "${API[validator-2]}" --localnet "$WORK/net" --signer GHA-NR \
  --action open_account --client-tx-id replay-1 \
  --json '{"account": {"ref": {"registry_id": "GHA-NR", "account_id": "GHA-OTHER"},
  "holder_party": "GHA"}}' 2>&1) || rc=$?
[[ $rc -ne 0 ]] && grep -Eq "ALREADY_EXISTS|REASON_DUPLICATE_TRANSACTION" <<<"$out" ||
  fail "a reused client_tx_id was not rejected (exit $rc): $out"
log "reused client_tx_id: $(tail -n 1 <<<"$out")"

# (d) Malformed and oversized requests.
for args in "--body-hex ffffffff" "--body-hex 0a0362616400" "--body-size 200000" \
  "--body-size 8000000"; do
  rc=0
  # shellcheck disable=SC2086
  out=$("$CTL" submit-raw --node "$node0" $args 2>&1) || rc=$?
  [[ $rc -eq 2 ]] || fail "submit-raw $args was not refused (exit $rc): $out"
  grep -Eq "INVALID_ARGUMENT|RESOURCE_EXHAUSTED" <<<"$out" || fail "unexpected refusal: $out"
  log "submit-raw $args: $out"
done
# Oversize below the API's 4 MiB receive limit: the node's own refusal, with the reason code (not a
# transport RESOURCE_EXHAUSTED).
for size in 70000 200000 3000000; do
  rc=0
  out=$("$CTL" submit-raw --node "$node0" --body-size "$size" 2>&1) || rc=$?
  [[ $rc -eq 2 ]] && grep -q "INVALID_ARGUMENT.*REASON_TRANSACTION_TOO_LARGE" <<<"$out" ||
    fail "a $size-byte body was not refused with REASON_TRANSACTION_TOO_LARGE (exit $rc): $out"
done
node_alive validator-0 || fail "validator-0 died"
before=$(height validator-0)
"$CTL" tx --node "$node0" --localnet "$WORK/net" --signer GHA-NR --action open_account \
  --json '{"account": {"ref": {"registry_id": "GHA-NR", "account_id": "GHA-STILL-OK"},
  "holder_party": "GHA"}}' >/dev/null || fail "the node stopped committing after bad requests"
[[ $(height validator-0) -gt $before ]] || fail "no new block after the bad requests"

# Control: a certificate pinned in genesis is accepted by the same probe.
rc=0
out=$("$CTL" peer-probe --address "${PEER[validator-0]}" --target-name validator-0 \
  --cert "$WORK/net/observer-0/tls.crt" --key "$WORK/net/observer-0/tls.key" \
  --genesis "$WORK/net/genesis.json") || rc=$?
[[ $rc -eq 0 ]] || fail "the genesis certificate of observer-0 was refused: $out"
log "genesis certificate: $out"
e2e_pass
