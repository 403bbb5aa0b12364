#!/usr/bin/env python3
"""Proves that each shell grader grades the same things as the workbook's checks.

For every exercise that has a shell grader, and for each recorded state of it (unsolved, the
reference solution, every variant, every mistake of exercises/NN/exercise.toml), it resets the
exercise, runs the state's script in the exercise folder, then compares the per-step pass/fail
of `workbook check EX --json` with the shell grader's PASS/FAIL lines. It cleans up with
`workbook reset EX --yes` and removes the resources a mistake declares (and nothing else).

Usage: benches/shell-graders/agree.py WORKBOOK_BINARY [EX ...]
Needs: a workspace in WORKBOOK_WORKSPACE (benches/grading.sh --agree makes one).
Exit: 0 when every state agrees, 1 when some do not, 2 on a usage error.
"""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def sh(cmd, cwd=None, check=False):
    return subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), capture_output=True,
                          text=True, check=check)


def states(slug):
    data = tomllib.loads((REPO / "exercises" / slug / "exercise.toml").read_text())
    out = [("unsolved", "true", {})]
    out.append(("solution", (REPO / "solutions" / slug / "solve.sh").read_text(), {}))
    for v in data.get("variants", []):
        out.append((f"variant {v['id']}", v["run"], v.get("resources", {})))
    for m in data.get("mistakes", []):
        out.append((f"mistake {m['id']} ({m['step']})", m["run"], m.get("resources", {})))
    return out


def remove_declared(resources):
    for c in resources.get("containers", []):
        sh(["docker", "rm", "-f", c])
    for v in resources.get("volumes", []):
        sh(["docker", "volume", "rm", "-f", v])


def main():
    if len(sys.argv) < 2 or not os.environ.get("WORKBOOK_WORKSPACE"):
        print(__doc__, file=sys.stderr)
        return 2
    binary, wanted = sys.argv[1], sys.argv[2:]
    ws = Path(os.environ["WORKBOOK_WORKSPACE"])
    graders = sorted(HERE.glob("[0-9][0-9]-*.sh"))
    if wanted:
        graders = [g for g in graders if any(g.name.startswith(w.zfill(2)) for w in wanted)]
    disagreements = 0
    total = 0
    for grader in graders:
        slug = grader.stem
        exdir = ws / slug
        for name, script, resources in states(slug):
            sh([binary, "reset", slug, "--yes"], check=True)
            ran = sh(["sh", "-e", "-c", script], cwd=exdir)
            wb = json.loads(sh([binary, "check", slug, "--json"]).stdout)
            wb_steps = {s["id"]: s["status"] for s in wb["steps"]}
            graded = sh(["sh", str(grader), str(exdir)])
            sg_steps = {}
            for line in graded.stdout.splitlines():
                verdict, _, rest = line.partition(" ")
                sg_steps[rest.split(":")[0]] = "pass" if verdict == "PASS" else "fail"
            total += 1
            same = wb_steps == sg_steps
            disagreements += not same
            mark = "agree   " if same else "DISAGREE"
            shown = " ".join(f"{k}={'P' if v == 'pass' else 'F'}" for k, v in wb_steps.items())
            print(f"{mark} {slug:20} {name:50} workbook: {shown}")
            if not same:
                print(f"         shell grader: {sg_steps}\n{graded.stdout}"
                      f"         state script exit {ran.returncode}: {ran.stderr.strip()[-300:]}")
            # Reset first: a mistake's volume cannot go while the exercise's container uses it.
            sh([binary, "reset", slug, "--yes"])
            remove_declared(resources)
    print(f"{total - disagreements} of {total} states graded alike by the workbook and the shell graders")
    return 0 if disagreements == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
