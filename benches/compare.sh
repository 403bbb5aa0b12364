#!/usr/bin/env bash
# Two workbook binaries side by side on the same daemon state: `workbook check EX` timed in
# interleaved rounds (A, B, B, A, ...), so a load that comes and goes weighs on both alike, and
# the two JSON reports compared (a speed-up must not change a verdict or a message).
#
# Usage: benches/compare.sh BIN_A BIN_B STATE EX...
#   STATE: unsolved (after `reset EX`) or solved (after `solution EX --run`), made with BIN_A
#   ROUNDS=N (default 30) timed rounds after 3 warm-up rounds
# Example, a patch against the current build:
#   benches/compare.sh target/release/workbook /tmp/patched/target/release/workbook solved 02 09
# It resets each exercise at the end. Like grading.sh, do not run it beside `cargo test`.
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,12p' "$0"; exit 2; }
A=$(readlink -f "$1")
B=$(readlink -f "$2")
STATE=$3
shift 3
case "$STATE" in solved|unsolved) ;; *) echo "STATE must be solved or unsolved" >&2; exit 2 ;; esac
ROUNDS=${ROUNDS:-30}
WS=$(mktemp -d /tmp/workbook-compare.XXXXXX)
export WORKBOOK_WORKSPACE=$WS
"$A" init "$WS" >/dev/null
trap 'for ex in "$@"; do "$A" reset "$ex" --yes >/dev/null 2>&1 || true; done; rm -rf "$WS"' EXIT
"$A" setup >/dev/null 2>&1

for ex in "$@"; do
    while pgrep -f 'exercises-|deps/watch-' >/dev/null 2>&1; do sleep 5; done
    "$A" reset "$ex" --yes >/dev/null 2>&1
    if [ "$STATE" = solved ]; then
        "$A" solution "$ex" --run --yes >/dev/null 2>&1 || { echo "the solution of $ex failed" >&2; continue; }
    fi
    "$A" check "$ex" --json >"$WS/a.json" 2>/dev/null || true
    "$B" check "$ex" --json >"$WS/b.json" 2>/dev/null || true
    if cmp -s "$WS/a.json" "$WS/b.json"; then same="identical reports"; else same="REPORTS DIFFER"; fi
    echo "== $ex $STATE: $same; load $(cut -d' ' -f1 /proc/loadavg)"
    python3 - "$ROUNDS" "$A" "$B" "$ex" <<'EOF'
import math, subprocess, sys, time
rounds, a, b, ex = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cmds = [[a, "check", ex], [b, "check", ex]]
times, codes = [[], []], [set(), set()]
for i in range(rounds + 3):
    for k in ((0, 1) if i % 2 == 0 else (1, 0)):
        t = time.perf_counter()
        r = subprocess.run(cmds[k], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i >= 3:
            times[k].append((time.perf_counter() - t) * 1000)
            codes[k].add(r.returncode)
med = []
for k, name in ((0, "A " + a), (1, "B " + b)):
    t = sorted(times[k])
    med.append(t[len(t) // 2])
    p95 = t[max(0, math.ceil(0.95 * len(t)) - 1)]
    print(f"   {name}: median {med[-1]:6.1f} ms, p95 {p95:6.1f} ms, exit {sorted(codes[k])}")
print(f"   B / A = {med[1] / med[0]:.2f}")
EOF
done
