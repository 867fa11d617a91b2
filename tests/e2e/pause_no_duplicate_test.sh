#!/usr/bin/env bash
# e2e (6), defect 8: 4 validators + 1 observer under load through several nodes (the observer
# included); one validator is paused (SIGSTOP) for 4 s and resumed, more load follows. Then, on
# every node: no transaction id appears twice in the committed log, no transaction is left PENDING
# after its lifetime (each submitted one is COMMITTED or EXPIRED), and all nodes agree on block and
# state root at the same height.
source "$(dirname "$0")/lib.sh"
e2e_init pause_no_duplicate "${E2E_TIMEOUT:-240}"
net_create 4 1
net_start_all
LIFETIME_MS=${E2E_LIFETIME_MS:-12000}
targets="${API[validator-1]},${API[validator-2]},${API[observer-0]}"
log "network up; load through validator-1, validator-2 and observer-0 (lifetime $LIFETIME_MS ms)"

bench() {  # bench NAME TXS: itmo-bench in the background, ids in $WORK/NAME.ids
  "$BIN/itmo-bench" --localnet "$WORK/net" --txs "$2" --streams 3 --nodes "$targets" \
    --subscribe "${API[validator-0]}" --lifetime-ms "$LIFETIME_MS" --ids-out "$WORK/$1.ids" \
    --timeout 25 >"$WORK/$1.json" 2>"$WORK/$1.err" &
  BENCH_PID=$!
}
wait_ids() {
  for _ in $(seq 1 200); do [[ -s $WORK/$1.ids ]] && return 0; sleep 0.1; done
  fail "itmo-bench $1 did not start submitting: $(cat "$WORK/$1.err")"
}

bench first 1500
wait_ids first
paused=validator-3
kill -STOP "${PID[$paused]}"
log "$paused paused (SIGSTOP) under load"
sleep 4
kill -CONT "${PID[$paused]}"
log "$paused resumed (SIGCONT)"
wait "$BENCH_PID" || log "first bench: not every transaction committed ($(cat "$WORK/first.err"))"
bench second 1000
wait_ids second
wait "$BENCH_PID" || log "second bench: not every transaction committed ($(cat "$WORK/second.err"))"
log "bench: $(cat "$WORK/first.json") $(cat "$WORK/second.json")"

# The same client_tx_id, two bodies, at once through a validator and the observer: one commits;
# the other must not stay PENDING past its lifetime anywhere.
race_ids=()
for pair in "validator-0 RACE-A" "observer-0 RACE-B"; do
  read -r name account <<<"$pair"
  out=$("$CTL" tx --node "${API[$name]}" --localnet "$WORK/net" --signer GHA-NR \
    --action open_account --client-tx-id race-1 --lifetime-ms 5000 --no-wait --json \
    "{\"account\": {\"ref\": {\"registry_id\": \"GHA-NR\", \"account_id\": \"$account\"},
      \"holder_party\": \"GHA\"}}" 2>&1) || log "race submission to $name refused: $out"
  id=$(awk '/^submitted/ {print $2}' <<<"$out")
  [[ -n $id ]] && race_ids+=("$id")
done
[[ ${#race_ids[@]} -ge 1 ]] || fail "neither race submission was admitted"

# Past every deadline, a committed block (idle heartbeats) expires what did not commit.
sleep $((LIFETIME_MS / 1000 + 2))
reference=$(height validator-0)
for name in "${NODES[@]}"; do wait_height "$name" "$((reference + 1))" 30; done
top=$reference
for name in "${NODES[@]}"; do
  h=$(height "$name")
  [[ $h -lt $top ]] && top=$h
  pending=$(status_field "$name" mempool_size)
  [[ ${pending:-0} -eq 0 ]] || fail "$name still holds $pending pending transactions after the lifetime"
done

cat "$WORK/first.ids" "$WORK/second.ids" | sort >"$WORK/submitted.ids"
for name in "${NODES[@]}"; do
  "$CTL" subscribe --node "${API[$name]}" --from 1 --count "$top" --timeout 30 --format txids \
    >"$WORK/$name.log" 2>/dev/null || fail "$name: subscribe to height $top failed"
  awk '{print $2}' "$WORK/$name.log" | sort >"$WORK/$name.txids"
  dups=$(uniq -d "$WORK/$name.txids" | wc -l)
  [[ $dups -eq 0 ]] ||
    fail "$name: $dups transaction ids appear twice in the log, e.g. $(uniq -d "$WORK/$name.txids" | head -n 3 | tr '\n' ' ')"
  log "$name: $(wc -l <"$WORK/$name.txids") committed transactions up to height $top, no duplicate"
done
# Every submitted transaction committed, or it is EXPIRED (never PENDING) where it was submitted.
comm -23 "$WORK/submitted.ids" "$WORK/validator-0.txids" >"$WORK/missing.ids"
missing=$(wc -l <"$WORK/missing.ids")
expired=0
while read -r id; do
  for name in validator-1 validator-2 observer-0; do
    out=$("$CTL" get-tx --node "${API[$name]}" --id "$id" 2>&1 || true)
    grep -q TRANSACTION_STATE_PENDING <<<"$out" && fail "$id still PENDING on $name after its lifetime"
    grep -q TRANSACTION_STATE_EXPIRED <<<"$out" && expired=$((expired + 1))
  done
done < <(head -n 50 "$WORK/missing.ids")
for id in "${race_ids[@]}"; do
  for name in "${NODES[@]}"; do
    out=$("$CTL" get-tx --node "${API[$name]}" --id "$id" 2>&1 || true)
    grep -q TRANSACTION_STATE_PENDING <<<"$out" && fail "race tx $id still PENDING on $name"
  done
  log "race tx $id: $("$CTL" get-tx --node "${API[observer-0]}" --id "$id" 2>&1 | grep -o 'TRANSACTION_STATE_[A-Z]*\|TX_[A-Z]*' | head -n 2 | tr '\n' ' ')"
done
log "$missing of $(wc -l <"$WORK/submitted.ids") submitted transactions not committed ($expired EXPIRED answers among the first 50)"
committed=$(($(wc -l <"$WORK/submitted.ids") - missing))
[[ $committed -gt 0 ]] || fail "nothing committed"
same_state "$top" "${NODES[@]}"
e2e_pass
