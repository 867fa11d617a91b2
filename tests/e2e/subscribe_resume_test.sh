#!/usr/bin/env bash
# e2e (5): a subscriber that disconnects every few blocks and reconnects from its last height + 1
# sees every committed transaction exactly once, the same as an uninterrupted subscriber.
source "$(dirname "$0")/lib.sh"
e2e_init subscribe_resume "${E2E_TIMEOUT:-300}"
net_create 4 1
net_start_all
observer=${API[observer-0]}

"$CTL" subscribe --node "$observer" --from 1 --format txids >"$WORK/full.txt" 2>/dev/null &
full=$!
"$BIN/itmo-bench" --localnet "$WORK/net" --txs 200 --streams 2 --timeout 180 \
  >"$WORK/bench.json" 2>"$WORK/bench.err" &
bench=$!

next=1
: >"$WORK/parts.txt"
reconnects=0
while true; do
  "$CTL" subscribe --node "$observer" --from "$next" --count 2 --timeout 5 --format txids \
    >>"$WORK/parts.txt" 2>"$WORK/sub.err" || fail "subscribe failed: $(cat "$WORK/sub.err")"
  last=$(sed -n 's/.*last height \([0-9]*\).*/\1/p' "$WORK/sub.err")
  [[ -n $last ]] || fail "no last height: $(cat "$WORK/sub.err")"
  next=$((last + 1))
  reconnects=$((reconnects + 1))
  if ! kill -0 "$bench" 2>/dev/null && [[ -z ${final:-} ]]; then
    wait "$bench" || fail "itmo-bench failed: $(cat "$WORK/bench.err")"
    final=$(json_field height_last <"$WORK/bench.json")
    wait_height observer-0 "$final" 60
  fi
  [[ -n ${final:-} && $last -ge $final ]] && break
  [[ $reconnects -lt 2000 ]] || fail "too many reconnects"
done
log "resumed $reconnects times up to height $last"
sleep 1
kill "$full" 2>/dev/null || true
wait "$full" 2>/dev/null || true

committed=$(json_field committed <"$WORK/bench.json")
[[ $committed -eq 200 ]] || fail "bench committed $committed of 200"
dups=$(awk '{print $2}' "$WORK/parts.txt" | sort | uniq -d | wc -l)
[[ $dups -eq 0 ]] || fail "$dups transactions seen more than once by the resuming subscriber"
# Same transactions, heights and outcomes as the uninterrupted subscriber, up to the same height.
awk -v h="$last" '$1 <= h' "$WORK/full.txt" >"$WORK/full_cut.txt"
awk -v h="$last" '$1 <= h' "$WORK/parts.txt" >"$WORK/parts_cut.txt"
cmp -s "$WORK/full_cut.txt" "$WORK/parts_cut.txt" ||
  fail "resumed stream differs from the uninterrupted one: $(diff "$WORK/full_cut.txt" "$WORK/parts_cut.txt" | head)"
lines=$(wc -l <"$WORK/parts_cut.txt")
# 200 transfers plus the 3 setup transactions of itmo-bench.
[[ $lines -eq 203 ]] || fail "expected 203 committed transactions, the subscriber saw $lines"
e2e_pass
