#!/usr/bin/env bash
# Shared helpers of the e2e tests: a local network of real itmo-node processes on 127.0.0.1, in a temp
# folder, on a free port range, with a hard timeout. Every process a test starts is stopped on exit;
# on failure the tail of every node log is printed.
#
#   source "$(dirname "$0")/lib.sh"
#   e2e_init consistency 300        # name, hard timeout in seconds
#   net_create 4 1                  # validators, observers
#   net_start_all
#   ...
#   e2e_pass
set -euo pipefail

BIN=${ITMO_BIN_DIR:?set ITMO_BIN_DIR to the folder with itmo-node and itmoctl}
CTL=$BIN/itmoctl
declare -A PID=()
E2E_OK=0

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
fail() {
  echo "E2E FAILURE ($E2E_NAME): $*" >&2
  exit 1
}

e2e_cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n ${WATCHDOG:-} ]] && { kill "$WATCHDOG" 2>/dev/null || true; }
  for name in "${!PID[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for name in "${!PID[@]}"; do kill -0 "${PID[$name]}" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.2
  done
  for name in "${!PID[@]}"; do kill -KILL "${PID[$name]}" 2>/dev/null || true; done
  for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $E2E_OK -ne 1 ]]; then
    echo "---- $E2E_NAME failed (exit $status); work folder $WORK kept; node logs:" >&2
    for f in "$WORK"/net/*/node.log; do
      [[ -f $f ]] || continue
      echo "---- $f" >&2
      tail -n 25 "$f" >&2
    done
    [[ $status -eq 0 ]] && status=1
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# A base port whose 200 ports are free, random so that parallel ctest runs do not clash.
pick_base_port() {
  for _ in $(seq 1 50); do
    local base=$((20000 + (RANDOM % 200) * 200))
    local busy=0
    for off in 0 1 2 3 4 5 6 7 8 9 50 51 100 101 102 103 104 105 106 107 108 109 150 151; do
      if port_busy $((base + off)); then busy=1; break; fi
    done
    [[ $busy -eq 0 ]] && { echo "$base"; return 0; }
  done
  fail "no free port range"
}

# e2e_init NAME TIMEOUT_SECONDS
e2e_init() {
  E2E_NAME=$1
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/itmo-e2e-$1.XXXXXX")
  BASE_PORT=$(pick_base_port)
  trap e2e_cleanup EXIT
  trap "echo 'E2E: interrupted or timed out (hard timeout $2 s)' >&2; exit 124" INT TERM
  # The watchdog's output goes nowhere, so that no leftover process holds ctest's pipes open.
  (
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$2" &
    sleeper=$!
    # Stop the test shell, then its foreground command (the shell runs its trap only after that).
    wait "$sleeper" && kill -TERM $$ && pkill -TERM -P $$
  ) >/dev/null 2>&1 &
  WATCHDOG=$!
  log "$E2E_NAME: work folder $WORK, base port $BASE_PORT"
}

e2e_pass() {
  E2E_OK=1
  log "PASS $E2E_NAME"
}

# net_create VALIDATORS OBSERVERS
net_create() {
  "$CTL" localnet --dir "$WORK/net" --validators "$1" --observers "$2" --base-port "$BASE_PORT" \
    --chain-id "e2e-$E2E_NAME" --log-level "${ITMO_E2E_LOG_LEVEL:-info}" >/dev/null
  NODES=()
  declare -gA API=() PEER=()
  while IFS=$'\t' read -r name role api peer config; do
    NODES+=("$name")
    API[$name]=$api
    PEER[$name]=$peer
  done <"$WORK/net/nodes.tsv"
}

node_start() {
  "$BIN/itmo-node" --config "$WORK/net/$1/config.toml" >>"$WORK/net/$1/node.log" 2>&1 &
  PID[$1]=$!
}

node_kill9() {
  kill -KILL "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
}

node_stop() {
  kill -TERM "${PID[$1]}" 2>/dev/null || true
  wait "${PID[$1]}" 2>/dev/null || true
  unset "PID[$1]"
}

node_alive() { [[ -n ${PID[$1]:-} ]] && kill -0 "${PID[$1]}" 2>/dev/null; }

wait_healthy() {
  "$CTL" status --node "${API[$1]}" --wait "${2:-60}" >/dev/null || fail "$1 did not become healthy"
}

net_start_all() {
  for name in "${NODES[@]}"; do node_start "$name"; done
  for name in "${NODES[@]}"; do wait_healthy "$name"; done
}

# status_field NODE FIELD: one field of GetStatus (JSON names), empty when unreachable.
status_field() {
  "$CTL" status --node "${API[$1]}" --json 2>/dev/null |
    python3 -c "import json,sys; print(json.load(sys.stdin).get('$2', 0))" 2>/dev/null || true
}

height() {
  local h
  h=$(status_field "$1" height)
  echo "${h:-0}"
}

# wait_height NODE HEIGHT TIMEOUT_SECONDS
wait_height() {
  local deadline=$((SECONDS + $3))
  while [[ $(height "$1") -lt $2 ]]; do
    [[ $SECONDS -ge $deadline ]] && fail "$1 did not reach height $2 within $3 s (at $(height "$1"))"
    sleep 0.3
  done
}

# root_at NODE HEIGHT: "BLOCK_ID STATE_ROOT" of a committed height, from SubscribeCommits.
root_at() {
  "$CTL" subscribe --node "${API[$1]}" --from "$2" --count 1 --timeout 20 --format text 2>/dev/null |
    awk '{print $4, $8}'
}

# same_state HEIGHT NODE...: every node has the same block id and state root at HEIGHT.
same_state() {
  local h=$1
  shift
  local reference="" name
  for name in "$@"; do
    local got
    got=$(root_at "$name" "$h")
    [[ -n $got ]] || fail "$name has no block at height $h"
    if [[ -z $reference ]]; then
      reference=$got
    elif [[ $got != "$reference" ]]; then
      fail "$name differs at height $h: '$got' vs '$reference'"
    fi
  done
  log "height $h: ${#@} nodes agree on block and state root ($reference)"
}

# A JSON field of a one-line JSON object on stdin.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# wait_committed NODE SUBMITTER CLIENT_TX_ID TIMEOUT: until the transaction is committed (any outcome).
wait_committed() {
  local deadline=$((SECONDS + $4))
  until "$CTL" get-tx --node "${API[$1]}" --submitter "$2" --client-tx-id "$3" 2>/dev/null |
    grep -q TRANSACTION_STATE_COMMITTED; do
    [[ $SECONDS -ge $deadline ]] && fail "$2/$3 not committed on $1 within $4 s"
    sleep 0.5
  done
}
