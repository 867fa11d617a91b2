#!/usr/bin/env bash
# The benchmark suite, JSON out: every micro-benchmark (build/bin/bench_*, Google Benchmark) and, with
# --cluster, a fresh local network (scripts/localnet.sh) loaded by itmo-bench.
#
#   scripts/bench.sh                           # micro-benchmarks -> stdout
#   scripts/bench.sh --cluster --txs 5000      # plus committed tx/s and commit latency of 4 validators
#   scripts/bench.sh --out bench.json --min-time 0.2
#
# Output: {"micro": {"bench_x": <Google Benchmark JSON>, ...}, "cluster": <itmo-bench JSON or null>}.
# ITMO_BUILD_DIR picks the build folder (default build/); ITMO_BIN_DIR runs prebuilt binaries as they
# are. Exit non-zero when a benchmark fails.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${ITMO_BUILD_DIR:-build}
[[ $BUILD_DIR = /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
BIN=${ITMO_BIN_DIR:-$BUILD_DIR/bin}

CLUSTER=0
TXS=5000
STREAMS=4
OUT=
MIN_TIME=0.5
BASE_PORT=7100
while [[ $# -gt 0 ]]; do
  case $1 in
    --cluster) CLUSTER=1 ;;
    --txs) TXS=$2; shift ;;
    --streams) STREAMS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --min-time) MIN_TIME=$2; shift ;;
    --base-port) BASE_PORT=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [[ -z ${ITMO_BIN_DIR:-} ]] &&
  { ! compgen -G "$BIN/bench_*" >/dev/null || [[ $CLUSTER -eq 1 && ! -x $BIN/itmo-bench ]]; }; then
  bash "$ROOT/scripts/install-deps.sh" >&2
  ITMO_BUILD_DIR=$BUILD_DIR bash "$ROOT/scripts/build.sh" >&2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/itmo-bench.XXXXXX")
NET_PID=
cleanup() {
  if [[ -n $NET_PID ]]; then
    kill -TERM "$NET_PID" 2>/dev/null || true
    wait "$NET_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Micro-benchmarks, one JSON document each.
micro=""
for bench in "$BIN"/bench_*; do
  [[ -x $bench ]] || continue
  name=$(basename "$bench")
  echo "bench.sh: running $name" >&2
  "$bench" --benchmark_format=json --benchmark_min_time="$MIN_TIME" >"$WORK/$name.json"
  micro+="${micro:+, }\"$name\": $(cat "$WORK/$name.json")"
done

cluster=null
if [[ $CLUSTER -eq 1 ]]; then
  echo "bench.sh: starting a local network in $WORK/net" >&2
  ITMO_BUILD_DIR=$BUILD_DIR bash "$ROOT/scripts/localnet.sh" --no-demo --dir "$WORK/net" \
    --base-port "$BASE_PORT" >"$WORK/localnet.log" 2>&1 &
  NET_PID=$!
  for _ in $(seq 1 240); do
    [[ -f $WORK/net/ready ]] && break
    kill -0 "$NET_PID" 2>/dev/null || { cat "$WORK/localnet.log" >&2; exit 1; }
    sleep 0.5
  done
  [[ -f $WORK/net/ready ]] || { echo "bench.sh: the network did not start" >&2; exit 1; }
  echo "bench.sh: itmo-bench --txs $TXS --streams $STREAMS" >&2
  cluster=$("$BIN/itmo-bench" --localnet "$WORK/net" --txs "$TXS" --streams "$STREAMS")
fi

result="{\"micro\": {$micro}, \"cluster\": $cluster}"
if [[ -n $OUT ]]; then
  echo "$result" >"$OUT"
  echo "bench.sh: wrote $OUT" >&2
else
  echo "$result"
fi
