#!/usr/bin/env bash
# A fresh local itmo-ledger network on 127.0.0.1 (4 validators + 1 observer by default), the Article 6.2
# demo through the gRPC API, then serving until Ctrl-C. Installs dependencies and builds when needed.
#
#   scripts/localnet.sh                 # network + demo, then keep serving (Ctrl-C stops every node)
#   scripts/localnet.sh --demo          # network + demo, stop; exit 0 only if every demo step passed
#   scripts/localnet.sh --dir /tmp/net --base-port 9100 --validators 7 --observers 2
#   scripts/localnet.sh --no-demo       # network only (touches <dir>/ready once every node serves)
#
# Nodes log to <dir>/<node>/node.log; their data is in <dir>/<node>/data. ITMO_BUILD_DIR picks the
# build folder (default build/); ITMO_BIN_DIR runs prebuilt binaries without building.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$PWD/localnet
BASE_PORT=7100
VALIDATORS=4
OBSERVERS=1
DEMO_ONLY=0
SKIP_DEMO=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --demo) DEMO_ONLY=1 ;;
    --no-demo) SKIP_DEMO=1 ;;
    --dir) DIR=$2; shift ;;
    --dir=*) DIR=${1#--dir=} ;;
    --base-port) BASE_PORT=$2; shift ;;
    --base-port=*) BASE_PORT=${1#--base-port=} ;;
    --validators) VALIDATORS=$2; shift ;;
    --validators=*) VALIDATORS=${1#--validators=} ;;
    --observers) OBSERVERS=$2; shift ;;
    --observers=*) OBSERVERS=${1#--observers=} ;;
    -h|--help) usage; exit 0 ;;
    *) echo "localnet.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR/ready"

BUILD_DIR=${ITMO_BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
BIN=${ITMO_BIN_DIR:-$BUILD_DIR/bin}

log() { echo "localnet: $*"; }

# 1. Dependencies and binaries (ITMO_BIN_DIR: use the binaries there as they are).
if [[ -n ${ITMO_BIN_DIR:-} ]]; then
  [[ -x $BIN/itmo-node && -x $BIN/itmoctl ]] || { echo "localnet: no binaries in $BIN" >&2; exit 1; }
elif [[ ! -x $BIN/itmo-node || ! -x $BIN/itmoctl ]]; then
  log "installing dependencies and building (first run; this takes a while)"
  bash "$ROOT/scripts/install-deps.sh"
  ITMO_BUILD_DIR=$BUILD_DIR bash "$ROOT/scripts/build.sh"
else
  log "building itmo-node, itmoctl and itmo-bench if sources changed"
  cmake --build "$BUILD_DIR" --target itmo-node itmoctl itmo-bench -j "${ITMO_JOBS:-$(nproc)}" >/dev/null
fi

# 2. Stop what an earlier run left behind in this folder (only our own itmo-node processes).
for pidfile in "$DIR"/*/node.pid; do
  [[ -f $pidfile ]] || continue
  pid=$(cat "$pidfile")
  if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "itmo-node.*$DIR/"; then
    log "stopping itmo-node $pid left from an earlier run"
    kill "$pid" 2>/dev/null || true
  fi
done

port_busy() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
for ((i = 0; i < VALIDATORS; i++)); do
  for port in $((BASE_PORT + i)) $((BASE_PORT + 100 + i)); do
    if port_busy "$port"; then
      echo "localnet: port $port is in use; stop what uses it or pass --base-port" >&2
      exit 1
    fi
  done
done

# 3. A fresh network.
"$BIN/itmoctl" localnet --dir "$DIR" --force --validators "$VALIDATORS" --observers "$OBSERVERS" \
  --base-port "$BASE_PORT"

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  if [[ ${#PIDS[@]} -gt 0 ]]; then
    log "stopping ${#PIDS[@]} nodes"
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive=0
      for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [[ $alive -eq 0 ]] && break
      sleep 0.2
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 4. Start every node.
NAMES=()
APIS=()
while IFS=$'\t' read -r name role api peer config; do
  "$BIN/itmo-node" --config "$DIR/$config" >"$DIR/$name/node.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$DIR/$name/node.pid"
  NAMES+=("$name")
  APIS+=("$api")
  log "started $name ($role) pid $! api $api peer $peer, log $DIR/$name/node.log"
done <"$DIR/nodes.tsv"

# 5. Wait until every node answers and the validators see each other.
for idx in "${!NAMES[@]}"; do
  if ! "$BIN/itmoctl" status --node "${APIS[$idx]}" --wait 60 >/dev/null; then
    echo "localnet: ${NAMES[$idx]} did not become healthy; last log lines:" >&2
    tail -n 20 "$DIR/${NAMES[$idx]}/node.log" >&2
    exit 1
  fi
done
log "all ${#NAMES[@]} nodes are serving"
touch "$DIR/ready"  # For scripts that start a network in the background (scripts/bench.sh).
for idx in "${!NAMES[@]}"; do
  "$BIN/itmoctl" status --node "${APIS[$idx]}" | sed 's/^/  /'
done

# 6. The demo.
demo_status=0
if [[ $SKIP_DEMO -eq 0 ]]; then
  echo
  "$BIN/itmoctl" demo --localnet "$DIR" --node "${APIS[0]}" || demo_status=$?
  echo
  # The observer verified and applied the same blocks: show that its state matches.
  for idx in "${!NAMES[@]}"; do
    "$BIN/itmoctl" status --node "${APIS[$idx]}" 2>&1 | sed 's/^/  /' || true
  done
fi

if [[ $DEMO_ONLY -eq 1 ]]; then
  if [[ $demo_status -ne 0 ]]; then
    echo "localnet: the demo FAILED (exit $demo_status)" >&2
  fi
  exit "$demo_status"
fi

cat <<EOF

The network keeps serving. Try:
  $BIN/itmoctl status --node ${APIS[0]}
  $BIN/itmoctl holdings --node ${APIS[0]} --account CHE-NR/CHE-HOLDING
  $BIN/itmoctl adjustments --node ${APIS[0]} --party GHA
  $BIN/itmoctl subscribe --node ${APIS[$((${#APIS[@]} - 1))]} --from 1
  $BIN/itmo-bench --localnet $DIR --txs 2000
Press Ctrl-C to stop every node.
EOF
while true; do
  for idx in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$idx]}" 2>/dev/null; then
      echo "localnet: ${NAMES[$idx]} exited; see $DIR/${NAMES[$idx]}/node.log" >&2
      unset 'PIDS[idx]'
    fi
  done
  sleep 2
done
