#!/usr/bin/env bash
# Does `workbook watch` get in the learner's way? With watch running on exercise 07 (a backup
# present, so every grading reads ml-data), runs `docker volume rm ml-data && docker volume
# create ml-data` N times in a row and counts the removals the daemon refused ("volume is in
# use" by a probe of the workbook's), then stops the watch with SIGTERM and counts the helper
# containers left behind.
#
# Usage: benches/watch-volume-rm.sh [--rounds N]        (default 20)
# WORKBOOK_BIN=path/to/workbook runs another build (e.g. an older one, for a before/after).
# It uses exercise 07's fixed names (ml-data): run it on a daemon nothing else is using.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=20
while [ $# -gt 0 ]; do
    case $1 in
        --rounds) ROUNDS=$2; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -n "${WORKBOOK_BIN:-}" ]; then
    BIN=$(readlink -f "$WORKBOOK_BIN")
else
    (cd "$REPO" && cargo build --release --locked >&2)
    BIN=$REPO/target/release/workbook
fi
WS=$(mktemp -d)/ws
WATCH_PID=""
cleanup() {
    [ -n "$WATCH_PID" ] && kill -TERM "$WATCH_PID" 2>/dev/null || true
    WORKBOOK_WORKSPACE=$WS "$BIN" reset 07 --yes >/dev/null 2>&1 || true
    # The reset set 07 up again: remove what its setup made (labelled by the workbook).
    docker volume ls -q --filter label=workbook.managed=true --filter label=workbook.exercise=07-backup-restore |
        xargs -r docker volume rm >/dev/null 2>&1 || true
    rm -rf "$(dirname "$WS")"
}
trap cleanup EXIT
export WORKBOOK_WORKSPACE=$WS NO_COLOR=1
"$BIN" init "$WS" >/dev/null
"$BIN" setup >/dev/null
"$BIN" reset 07 --yes >/dev/null 2>&1
DIR=$WS/07-backup-restore
docker run --rm -v ml-data:/data:ro -v "$DIR":/backup workbook/tools tar czf /backup/ml-data-backup.tar.gz -C /data .
"$BIN" watch </dev/null >"$WS/watch.log" 2>&1 &
WATCH_PID=$!
sleep 2
refused=0
for _ in $(seq 1 "$ROUNDS"); do
    if docker volume rm ml-data >/dev/null 2>"$WS/rm.err"; then
        docker volume create ml-data >/dev/null
    else
        refused=$((refused + 1))
        sed 's/^/  refused: /' "$WS/rm.err" | head -1
        # The probe goes away a moment later; create-then-loop needs the volume back.
        sleep 0.3
    fi
done
sleep 2
regrades=$(grep -c '^re-check ' "$WS/watch.log" || true)
kill -TERM "$WATCH_PID"
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=""
left=$(docker ps -aq --filter label=workbook.role | wc -l)
echo "refused removals: $refused/$ROUNDS; watch re-grades meanwhile: $regrades; helpers left after SIGTERM: $left"
