#!/usr/bin/env bash
# Grading speed of `workbook`, measured with hyperfine on the real Docker daemon, beside shell
# graders written the way hosted labs write them (benches/shell-graders/). See BENCHMARKS.md.
#
# Usage: benches/grading.sh [--no-verify] [--agree] [--runs N] [--shell-runs N] [--warmup N]
#   --no-verify     skip timing `workbook verify` (it takes minutes)
#   --agree         also prove the shell graders grade like the workbook (shell-graders/agree.py)
#   --runs N        hyperfine runs per workbook command (default 30)
#   --shell-runs N  hyperfine runs per shell grader and per eleven-exercise round (default 10)
#   --warmup N      warm-up runs before each measurement (default 3)
# WORKBOOK_BIN=PATH uses that binary instead of building target/release/workbook.
#
# It builds the release binary, makes a temporary workspace, resets and solves the measured
# exercises (`workbook reset EX --yes`, `workbook solution EX --run --yes`), measures, writes
# hyperfine's JSON and a summary to target/bench/, and resets what it touched at the end.
# It changes the exercises' resources on this daemon (ml-data, trainer, ...): do not run it
# beside `cargo test` (it waits while a daemon test binary runs) or a learner's session.
set -euo pipefail

RUNS=30
SHELL_RUNS=10
WARMUP=3
VERIFY=1
AGREE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --no-verify) VERIFY=0 ;;
        --agree) AGREE=1 ;;
        --runs) RUNS=$2; shift ;;
        --shell-runs) SHELL_RUNS=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
GRADERS=$REPO/benches/shell-graders
OUT=$REPO/target/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.txt "$OUT"/*.log "$OUT"/rows.tsv "$OUT"/summary.md
ROWS=$OUT/rows.tsv

say() { printf '\n== %s\n' "$*" >&2; }

# ------------------------------------------------------------------ prerequisites
if ! command -v hyperfine >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing hyperfine (Debian package)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
    else
        echo "hyperfine is missing: sudo apt-get install -y hyperfine" >&2
        exit 2
    fi
fi
command -v python3 >/dev/null || { echo "python3 is missing (it computes the summary)" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "the Docker daemon is not answering: \`docker info\` fails" >&2; exit 2; }

# The daemon tests (tests/exercises.rs, tests/watch.rs) change the same resources: wait until
# none runs. BENCH_QUIET_PATTERN (a `pgrep -f` pattern) overrides what is waited for.
QUIET_PATTERN=${BENCH_QUIET_PATTERN:-'deps/it-'}
wait_quiet() {
    local waited=0
    while pgrep -f "$QUIET_PATTERN" >/dev/null 2>&1; do
        [ $waited -eq 0 ] && echo "waiting: a daemon test binary is running ($QUIET_PATTERN)" >&2
        sleep 5
        waited=$((waited + 5))
        if [ $waited -ge 900 ]; then
            echo "gave up after 15 min: the daemon tests are still running" >&2
            exit 2
        fi
    done
}
wait_quiet

# Compilations on a 2-core machine disturb every number: wait up to 5 min for other builds to
# end (the load average of each measurement is in the table either way).
for i in $(seq 1 60); do
    pgrep -f '^[^ ]*/rustc ' >/dev/null 2>&1 || break
    [ "$i" = 1 ] && echo "waiting up to 5 min: a Rust compilation is running" >&2
    sleep 5
done

# ------------------------------------------------------------------ binary and workspace
if [ -n "${WORKBOOK_BIN:-}" ]; then
    BIN=$(readlink -f "$WORKBOOK_BIN")
else
    say "building the release binary"
    (cd "$REPO" && cargo build --release --locked)
    BIN=$REPO/target/release/workbook
fi
WS=$(mktemp -d /tmp/workbook-bench.XXXXXX)
export WORKBOOK_WORKSPACE=$WS
"$BIN" init "$WS" >/dev/null
ALL_EX=$(cd "$REPO/exercises" && printf '%s ' [0-9][0-9]-*)
TOUCHED=""

cleanup() {
    local code=$?
    say "cleaning up: workbook reset EX --yes for every exercise touched"
    for ex in $TOUCHED; do
        "$BIN" reset "$ex" --yes >/dev/null 2>&1 || echo "warning: reset $ex failed" >&2
    done
    # The per-exercise resets re-create the setups (06, 07); `reset --all` removes them too.
    [ -n "$TOUCHED" ] && { "$BIN" reset --all --yes >/dev/null 2>&1 || echo "warning: reset --all failed" >&2; }
    rm -rf "$WS"
    exit $code
}
trap cleanup EXIT
trap 'exit 130' INT TERM

slug() { (cd "$WS" && printf '%s' "$1"-*); }
touch_ex() { case " $TOUCHED " in *" $1 "*) ;; *) TOUCHED="$TOUCHED $1" ;; esac; }
unsolve() { touch_ex "$1"; "$BIN" reset "$1" --yes >/dev/null 2>&1; }
solve() {
    unsolve "$1"
    "$BIN" solution "$1" --run --yes >"$OUT/solve-$1.log" 2>&1 ||
        { echo "the solution of $1 failed; see $OUT/solve-$1.log" >&2; return 1; }
}

# ------------------------------------------------------------------ machine
say "machine"
{
    echo "cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "engine: $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')"
    echo "storage driver: $(docker info -f '{{.Driver}}')"
    echo "cgroup: $(docker info -f '{{.CgroupDriver}} v{{.CgroupVersion}}')"
    echo "docker root fs: $(df -PT "$(docker info -f '{{.DockerRootDir}}')" 2>/dev/null | awk 'NR == 2 { print $2 }')"
    echo "docker CLI: $(docker version -f '{{.Client.Version}}')"
    echo "hyperfine: $(hyperfine --version | cut -d' ' -f2)"
    echo "workbook: $("$BIN" --version) ($(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt" >&2
say "lab images"
"$BIN" setup >/dev/null

# ------------------------------------------------------------------ measuring
# measure NAME STATE TARGET_MS EXPECTED_EXIT RUNS RESTORE -- COMMAND [hyperfine options...]
# RESTORE is a shell snippet that puts the state back; it runs before each attempt. The command
# must exit EXPECTED_EXIT once before measuring, and on every run: a run that does not means
# something else changed the daemon meanwhile (another session's tests), so the measurement is
# repeated (3 attempts at most).
measure() {
    local name=$1 state=$2 target=$3 expect=$4 runs=$5 restore=$6
    shift 7
    local cmd=$1
    shift
    local attempt ok=0 note="" load=""
    for attempt in 1 2 3; do
        wait_quiet
        if ! eval "$restore"; then
            # Another session's tests may have removed a lab image meanwhile: rebuild, retry.
            note="could not put the state back ($restore)"
            echo "  $name: $note; trying again" >&2
            "$BIN" setup >/dev/null 2>&1 || true
            continue
        fi
        local rc=0
        sh -c "$cmd" >/dev/null 2>&1 || rc=$?
        if [ "$rc" != "$expect" ]; then
            note="exit $rc before measuring, expected $expect"
            echo "  $name: $note; restoring the state again" >&2
            continue
        fi
        load=$(cut -d' ' -f1 /proc/loadavg)
        hyperfine -N --style basic --warmup "$WARMUP" --runs "$runs" -i \
            --command-name "$name" --export-json "$OUT/$name.json" "$@" -- "$cmd" >&2
        if python3 - "$OUT/$name.json" "$expect" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
codes = set(r.get("exit_codes") or [])
sys.exit(0 if codes <= {int(sys.argv[2])} else 1)
EOF
        then
            ok=1
            note=""
            break
        fi
        note="disturbed: some runs exited otherwise than $expect"
        echo "  $name: $note; measuring again" >&2
    done
    [ $ok = 1 ] || echo "  $name: could not be measured cleanly ($note)" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$state" "$target" "$attempt" "$note" "$load" >>"$ROWS"
}

say "commands with no daemon call"
touch_ex 03
measure list - 20 0 "$RUNS" ":" -- "$BIN list"
measure hint-03 - 20 0 "$RUNS" ":" -- "$BIN hint 03"

# Exercises with only metadata checks, then exercises whose checks read volume content.
for ex in 02 03 10 01 09 07; do
    case $ex in 01|07|09) target=300 ;; *) target=50 ;; esac
    s=$(slug $ex)
    grader=$(ls "$GRADERS"/$ex-*.sh)
    say "$s unsolved"
    measure "check-$ex-unsolved" unsolved $target 1 "$RUNS" "unsolve $ex" -- "$BIN check $ex"
    measure "shell-$ex-unsolved" unsolved - 1 "$SHELL_RUNS" "unsolve $ex" -- "sh $grader $WS/$s"
    say "$s solved"
    measure "check-$ex-solved" solved $target 0 "$RUNS" "solve $ex" -- "$BIN check $ex"
    measure "shell-$ex-solved" solved - 0 "$SHELL_RUNS" "solve $ex" -- "sh $grader $WS/$s"
done

say "all eleven exercises"
LOOP="sh -c 'for ex in $ALL_EX; do $BIN check \$ex >/dev/null; done; exit 0'"
HAS_ALL=0
"$BIN" check --help 2>/dev/null | grep -q -- '--all' && HAS_ALL=1
unsolve_all() { for ex in $ALL_EX; do unsolve "${ex%%-*}"; done; }
solve_all() { for ex in $ALL_EX; do solve "${ex%%-*}" || true; done; }
unsolve_all
measure "check-each-of-11-unsolved" unsolved - 0 "$SHELL_RUNS" ":" -- "$LOOP"
[ $HAS_ALL = 1 ] && measure "check-all-unsolved" unsolved 1000 1 "$RUNS" ":" -- "$BIN check --all"
solve_all
# Exercises share names (01 and 07 both use ml-data), so not all eleven pass at once.
PASSING=0
for ex in $ALL_EX; do "$BIN" check "${ex%%-*}" >/dev/null 2>&1 && PASSING=$((PASSING + 1)); done
echo "after solving every exercise in order, $PASSING of 11 pass together" >&2
echo "$PASSING" >"$OUT/all-solved-passing.txt"
measure "check-each-of-11-solved" "solved ($PASSING/11 pass)" - 0 "$SHELL_RUNS" ":" -- "$LOOP"
# The exercises not measured above, for information (compose stacks, exec checks).
for ex in 04 05 06 08 11; do
    code=0; "$BIN" check $ex >/dev/null 2>&1 || code=$?
    measure "check-$ex-solved" "solved (with the others)" - $code "$RUNS" ":" -- "$BIN check $ex"
done
if [ $HAS_ALL = 1 ]; then
    code=0; [ "$PASSING" = 11 ] || code=1
    measure "check-all-solved" "solved ($PASSING/11 pass)" 1000 $code "$RUNS" ":" -- "$BIN check --all"
fi

say "workbook next"
# Unsolved: `reset` makes 03 current; `next` grades it and shows its first step. Runs change
# nothing but counters in progress.json.
unsolve 03
"$BIN" next >/dev/null 2>&1 || true
measure "next-unsolved" "03 unsolved" - 1 "$RUNS" ":" -- "$BIN next"
# Solved: 03 passes, so `next` shows its outro, moves on to 04 (no setup to create) and shows
# 04's lesson. The same progress.json is put back before every run.
solve 03
# shellcheck disable=SC2086 # one argument per slug
python3 - "$WS/.workbook/progress.json" $ALL_EX <<'PY'
import json, sys
path, slugs = sys.argv[1], sys.argv[2:]
p = json.load(open(path))
p["current"] = slugs[2]
for slug in slugs:
    e = p["exercises"].setdefault(slug, {})
    if slug in (slugs[2], slugs[3]):
        e["status"] = "pending"
        e.pop("completed_at", None)
        e["steps"] = {}
    else:
        e["status"] = "done"
json.dump(p, open(path, "w"), indent=2)
PY
cp "$WS/.workbook/progress.json" "$OUT/next-progress.json"
RESTORE_PROGRESS="cp $OUT/next-progress.json $WS/.workbook/progress.json"
measure "next-solved" "03 solved, moves on to 04" - 0 "$RUNS" "$RESTORE_PROGRESS" \
    -- "$BIN next" --prepare "$RESTORE_PROGRESS"

if [ $VERIFY = 1 ]; then
    say "workbook verify (all exercises, one run)"
    # verify's workspace has the same folder names, so the same compose project names: the
    # stacks solved above would be "in use" by verify's resets. Put everything back first.
    for ex in $TOUCHED; do "$BIN" reset "$ex" --yes >/dev/null 2>&1 || true; done
    wait_quiet
    start=$(date +%s.%N)
    vcode=0
    "$BIN" verify --yes --json >"$OUT/verify.json" 2>"$OUT/verify.log" || vcode=$?
    end=$(date +%s.%N)
    python3 - "$OUT/verify.json" "$start" "$end" "$vcode" >"$OUT/verify.txt" <<'EOF'
import json, sys
total = float(sys.argv[3]) - float(sys.argv[2])
try:
    r = json.load(open(sys.argv[1]))
    per = " ".join(f"{e['exercise'][:2]}={e['seconds']:.1f}s" for e in r.get("exercises", []))
    ok = "all verified" if r.get("ok") else "PROBLEMS (see verify.json)"
except Exception as e:
    per, ok = f"(no JSON report: {e})", "?"
print(f"workbook verify: {total:.1f} s in all, exit {sys.argv[4]}, {ok}; per exercise: {per}")
EOF
    cat "$OUT/verify.txt" >&2
fi

if [ $AGREE = 1 ]; then
    say "agreement: shell graders against workbook check"
    wait_quiet
    for ex in 01 02 03 07 09 10; do touch_ex $ex; done
    python3 "$GRADERS/agree.py" "$BIN" | tee "$OUT/agree.txt" >&2 || true
fi

# ------------------------------------------------------------------ summary
say "summary"
python3 - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import json, math, os, sys

out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "rows.tsv"))]

def stats(name):
    r = json.load(open(os.path.join(out, f"{name}.json")))["results"][0]
    t = sorted(r["times"])
    p95 = t[max(0, math.ceil(0.95 * len(t)) - 1)]
    return r["median"] * 1000, p95 * 1000, len(t)

def ms(v):
    return f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"

med = {}
print("| command | state | median | p95 | runs | target | verdict | shell grader median | shell / workbook | load |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, state, target, attempts, note, load in rows:
    if name.startswith("shell-"):
        continue
    m, p, n = stats(name)
    med[name] = m
    verdict = "info" if target == "-" else ("ok" if m < float(target) else "MISS")
    target_s = "-" if target == "-" else f"< {target} ms"
    shell, ratio = "", ""
    if name.startswith("check-") and name.count("-") == 2:
        sname = "shell-" + name[len("check-"):]
        if os.path.exists(os.path.join(out, f"{sname}.json")):
            sm, _, _ = stats(sname)
            shell, ratio = ms(sm), f"{sm / m:.1f}x"
    label = {
        "list": "workbook list",
        "hint-03": "workbook hint 03",
        "next-unsolved": "workbook next",
        "next-solved": "workbook next",
        "check-all-unsolved": "workbook check --all",
        "check-all-solved": "workbook check --all",
        "check-each-of-11-unsolved": "11 x workbook check EX",
        "check-each-of-11-solved": "11 x workbook check EX",
    }.get(name, "workbook check " + name.split("-")[1] if name.startswith("check-") else name)
    extra = f" (attempt {attempts}{': ' + note if note else ''})" if attempts != "1" else ""
    print(f"| {label} | {state}{extra} | {ms(m)} | {ms(p)} | {n} | {target_s} | {verdict} | {shell} | {ratio} | {load} |")
EOF
[ -f "$OUT/verify.txt" ] && cat "$OUT/verify.txt"
echo "hyperfine JSON: $OUT/*.json; this table: $OUT/summary.md; machine: $OUT/machine.txt" >&2
