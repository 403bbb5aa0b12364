#!/usr/bin/env bash
# Watch latency: from a Docker event to the redrawn verdict of `workbook watch`, p50 and p95.
#
# Usage: benches/watch-latency.sh [--pairs N] [EXERCISE ...]     (default: 20 pairs; 02 03 01)
#
# For each exercise it makes a temporary workspace, puts the exercise in the state measured
# (02 and 03 unsolved: metadata only; 01 solved: `ml-data` exists, so every grading reads a
# file through a probe), starts `workbook watch` with WORKBOOK_WATCH_TIMINGS, and makes N
# `docker create` + `docker rm` pairs of a container of its own (2N events, 0.4 s apart so each
# grading ends before the next event). The watcher times each re-grade from the daemon's stamp
# on the event (its `timeNano`) to the redrawn checklist. The table goes to stdout and to
# target/bench/watch-latency.md; the raw timings to target/bench/watch-*.jsonl.
# Run it on a quiet daemon: it waits while the daemon test binaries run, like grading.sh.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PAIRS=20
EXERCISES=()
while [ $# -gt 0 ]; do
    case $1 in
        --pairs) PAIRS=$2; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) EXERCISES+=("$1") ;;
    esac
    shift
done
[ ${#EXERCISES[@]} -gt 0 ] || EXERCISES=(02 03 01)

docker info >/dev/null 2>&1 || { echo "the Docker daemon is not answering: \`docker info\` fails" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is missing (it computes the percentiles)" >&2; exit 2; }
QUIET_PATTERN=${BENCH_QUIET_PATTERN:-'exercises-|deps/watch-'}
while pgrep -f "$QUIET_PATTERN" >/dev/null 2>&1; do
    echo "waiting: a daemon test binary is running ($QUIET_PATTERN)" >&2
    sleep 5
done

if [ -n "${WORKBOOK_BIN:-}" ]; then
    BIN=$(readlink -f "$WORKBOOK_BIN")
else
    (cd "$REPO" && cargo build --release --locked >&2)
    BIN=$REPO/target/release/workbook
fi
OUT=$REPO/target/bench
mkdir -p "$OUT"
EVENT_NAME=workbook-bench-event-$$
WS=""
WATCH_PID=""

cleanup() {
    local code=$?
    [ -n "$WATCH_PID" ] && kill -TERM "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null || true
    docker rm -f "$EVENT_NAME" >/dev/null 2>&1 || true
    if [ -n "$WS" ]; then
        for ex in "${EXERCISES[@]}"; do
            WORKBOOK_WORKSPACE=$WS "$BIN" reset "$ex" --yes >/dev/null 2>&1 || true
        done
        rm -rf "$WS"
    fi
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TABLE=$OUT/watch-latency.md
{
    echo "| exercise watched | state | re-grades | p50 | p95 | max | target p95 | verdict | load |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >"$TABLE"

for ex in "${EXERCISES[@]}"; do
    WS=$(mktemp -d /tmp/workbook-watch-bench.XXXXXX)
    export WORKBOOK_WORKSPACE=$WS
    "$BIN" init "$WS" >/dev/null
    "$BIN" setup >/dev/null 2>&1
    "$BIN" reset "$ex" --yes >/dev/null 2>&1       # makes it the current exercise, unsolved
    state=unsolved
    if [ "$ex" = 01 ]; then
        "$BIN" solution "$ex" --run --yes >/dev/null 2>&1
        state=solved
    fi
    TIMINGS=$OUT/watch-$ex.jsonl
    rm -f "$TIMINGS"
    WORKBOOK_WATCH_TIMINGS=$TIMINGS "$BIN" watch </dev/null >/dev/null 2>&1 &
    WATCH_PID=$!
    sleep 2                                         # its first grading and the event stream
    load=$(cut -d' ' -f1 /proc/loadavg)
    for _ in $(seq 1 "$PAIRS"); do
        docker create --name "$EVENT_NAME" --network none workbook/tools true >/dev/null
        sleep 0.4
        docker rm "$EVENT_NAME" >/dev/null
        sleep 0.4
    done
    sleep 1
    kill -TERM "$WATCH_PID"
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
    for e in "${EXERCISES[@]}"; do "$BIN" reset "$e" --yes >/dev/null 2>&1 || true; done
    rm -rf "$WS"
    WS=""
    python3 - "$TIMINGS" "$ex" "$state" "$load" >>"$TABLE" <<'EOF'
import json, math, sys
path, ex, state, load = sys.argv[1:]
ms = sorted(json.loads(l)["ms"] for l in open(path) if '"event"' in l)
if not ms:
    print(f"| {ex} | {state} | 0 | - | - | - | < 200 ms | no events | {load} |")
    sys.exit()
def pct(p):
    return ms[max(1, math.ceil(p / 100 * len(ms))) - 1]
p95 = pct(95)
verdict = "ok" if p95 < 200 else "**MISS**"
print(f"| {ex} | {state} | {len(ms)} | {pct(50):.1f} ms | {p95:.1f} ms | {ms[-1]:.1f} ms | < 200 ms | {verdict} | {load} |")
EOF
done
cat "$TABLE"
