//! `workbook report`: the learner's progress for an instructor, read without a daemon and
//! without changing the progress file. The JSON is checked against docs/report-schema.md.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use crate::util;

/// [`util::workbook`] with no daemon to reach.
fn workbook() -> Command {
    let mut cmd = util::workbook();
    cmd.env("DOCKER_HOST", util::NO_DAEMON);
    cmd
}

fn init(dir: &Path) -> std::path::PathBuf {
    let ws = dir.join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    ws
}

fn report_json(ws: &Path) -> Value {
    let out = workbook()
        .arg("--workspace")
        .arg(ws)
        .args(["report", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("report --json prints JSON")
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
    items.iter().copied().collect()
}

fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let s = v.as_str().expect("a time is a string");
    assert!(s.ends_with('Z'), "times are UTC: {s}");
    chrono::DateTime::parse_from_rfc3339(s).expect("RFC 3339")
}

const STATUSES: [&str; 3] = ["pass", "fail", "pending"];

/// Every field of docs/report-schema.md, with its type, and nothing undocumented.
fn check_schema(r: &Value, ws: &Path) {
    assert_eq!(
        keys(r),
        set(&[
            "version",
            "workspace",
            "generated_at",
            "status",
            "exercises",
            "totals"
        ])
    );
    assert_eq!(r["version"], 1);
    assert_eq!(
        Path::new(r["workspace"].as_str().unwrap()),
        std::fs::canonicalize(ws).unwrap()
    );
    time(&r["generated_at"]);
    assert!(STATUSES.contains(&r["status"].as_str().unwrap()));
    let exercises = r["exercises"].as_array().unwrap();
    let catalog = workbook::curriculum::catalog::exercises().unwrap();
    assert_eq!(exercises.len(), catalog.len());
    let (mut steps_total, mut steps_passed, mut done, mut hints, mut failed) = (0, 0, 0, 0, 0);
    for (e, ex) in exercises.iter().zip(&catalog) {
        let k = keys(e);
        let required = set(&["slug", "title", "status", "hints_used", "steps"]);
        assert!(k.is_superset(&required), "{e}");
        assert!(k.difference(&required).all(|x| *x == "completed_at"), "{e}");
        assert_eq!(e["slug"], ex.slug.as_str());
        assert_eq!(e["title"], ex.title());
        let status = e["status"].as_str().unwrap();
        assert!(STATUSES.contains(&status));
        assert_eq!(e.get("completed_at").is_some(), status == "pass", "{e}");
        if let Some(t) = e.get("completed_at") {
            time(t);
            done += 1;
        }
        hints += e["hints_used"].as_u64().unwrap();
        let steps = e["steps"].as_array().unwrap();
        assert_eq!(steps.len(), ex.steps().len());
        for (s, step) in steps.iter().zip(ex.steps()) {
            let k = keys(s);
            let required = set(&["id", "title", "status", "attempts"]);
            assert!(k.is_superset(&required), "{s}");
            assert!(
                k.difference(&required)
                    .all(|x| *x == "first_passed" || *x == "message"),
                "{s}"
            );
            assert_eq!(s["id"], step.id.as_str());
            assert_eq!(s["title"], step.title.as_str());
            let status = s["status"].as_str().unwrap();
            assert!(STATUSES.contains(&status));
            assert_eq!(s.get("first_passed").is_some(), status == "pass", "{s}");
            assert_eq!(s.get("message").is_some(), status != "pass", "{s}");
            if let Some(t) = s.get("first_passed") {
                time(t);
                steps_passed += 1;
            }
            if let Some(m) = s.get("message") {
                assert!(!m.as_str().unwrap().is_empty());
            }
            failed += s["attempts"].as_u64().unwrap();
            steps_total += 1;
        }
    }
    let t = &r["totals"];
    assert_eq!(
        keys(t),
        set(&[
            "exercises_done",
            "exercises_total",
            "steps_passed",
            "steps_total",
            "hints_used",
            "failed_attempts"
        ])
    );
    assert_eq!(t["exercises_total"], catalog.len());
    assert_eq!(t["exercises_done"], done);
    assert_eq!(t["steps_total"], steps_total);
    assert_eq!(t["steps_passed"], steps_passed);
    assert_eq!(t["hints_used"], hints);
    assert_eq!(t["failed_attempts"], failed);
}

#[test]
fn fresh_workspace_is_all_pending() {
    let dir = tempfile::tempdir().unwrap();
    let ws = init(dir.path());
    let progress = ws.join(".workbook/progress.json");
    let before = std::fs::read(&progress).unwrap();
    let r = report_json(&ws);
    check_schema(&r, &ws);
    assert_eq!(r["status"], "pending");
    for e in r["exercises"].as_array().unwrap() {
        assert_eq!(e["status"], "pending");
        assert_eq!(e["hints_used"], 0);
        for s in e["steps"].as_array().unwrap() {
            assert_eq!(s["status"], "pending");
            assert_eq!(s["attempts"], 0);
            assert_eq!(s["message"], "not graded yet");
        }
    }
    assert_eq!(r["totals"]["steps_passed"], 0);
    workbook()
        .current_dir(&ws)
        .arg("report")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("01-named-volumes")
                .and(predicate::str::contains("pending"))
                .and(predicate::str::contains(format!(
                    "0/{} exercises done",
                    exercise_count()
                ))),
        );
    assert_eq!(
        std::fs::read(&progress).unwrap(),
        before,
        "the report changed the progress file"
    );
}

#[test]
fn hand_written_progress() {
    let dir = tempfile::tempdir().unwrap();
    let ws = init(dir.path());
    let catalog = workbook::curriculum::catalog::exercises().unwrap();
    let (one, two) = (&catalog[0], &catalog[1]);
    let mut one_steps = serde_json::Map::new();
    for (i, s) in one.steps().iter().enumerate() {
        one_steps.insert(
            s.id.clone(),
            serde_json::json!({"first_passed": 1_700_000_000 + i as u64 * 60, "failed_attempts": i}),
        );
    }
    let progress = serde_json::json!({
        "version": 1,
        "current": two.slug,
        "exercises": {
            one.slug.clone(): {
                "status": "done",
                "steps": one_steps,
                "hints_used": 2,
                "completed_at": 1_700_000_600u64,
                "setup_done": true
            },
            two.slug.clone(): {
                "status": "pending",
                "steps": { two.steps()[0].id.clone(): {"failed_attempts": 3} },
                "hints_used": 1
            },
            "99-not-in-this-workbook": { "status": "done", "hints_used": 5 }
        }
    });
    let path = ws.join(".workbook/progress.json");
    let text = serde_json::to_string_pretty(&progress).unwrap();
    std::fs::write(&path, &text).unwrap();

    let r = report_json(&ws);
    check_schema(&r, &ws);
    assert_eq!(r["status"], "fail");
    let e1 = &r["exercises"][0];
    assert_eq!(e1["slug"], one.slug.as_str());
    assert_eq!(e1["status"], "pass");
    assert_eq!(e1["hints_used"], 2);
    assert_eq!(e1["completed_at"], "2023-11-14T22:23:20Z");
    assert_eq!(e1["steps"][0]["status"], "pass");
    assert_eq!(e1["steps"][0]["first_passed"], "2023-11-14T22:13:20Z");
    assert_eq!(e1["steps"][1]["first_passed"], "2023-11-14T22:14:20Z");
    assert_eq!(e1["steps"][1]["attempts"], 1);
    let e2 = &r["exercises"][1];
    assert_eq!(e2["status"], "fail");
    assert_eq!(e2["hints_used"], 1);
    assert_eq!(e2["steps"][0]["status"], "fail");
    assert_eq!(e2["steps"][0]["attempts"], 3);
    assert!(e2["steps"][0]["message"]
        .as_str()
        .unwrap()
        .contains("3 gradings"));
    assert_eq!(e2["steps"][1]["status"], "pending");
    assert_eq!(r["exercises"][2]["status"], "pending");
    assert_eq!(r["totals"]["exercises_done"], 1);
    assert_eq!(r["totals"]["steps_passed"], one.steps().len());
    assert_eq!(r["totals"]["hints_used"], 3);

    workbook()
        .arg("--workspace")
        .arg(&ws)
        .arg("report")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("2023-11-14T22:23:20Z")
                .and(predicate::str::contains(format!("  {}", one.steps()[0].id)))
                .and(predicate::str::contains(format!(
                    "1/{} exercises done",
                    exercise_count()
                ))),
        );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the report changed the progress file"
    );
}

#[test]
fn unreadable_progress_is_left_alone_and_no_workspace_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ws = init(dir.path());
    let path = ws.join(".workbook/progress.json");
    std::fs::write(&path, "{\"version\": 1, \"exercises\": {").unwrap();
    workbook()
        .arg("--workspace")
        .arg(&ws)
        .args(["report", "--json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("progress.json is unreadable"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"version\": 1, \"exercises\": {"
    );
    let names: Vec<_> = std::fs::read_dir(ws.join(".workbook"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("corrupt")), "{names:?}");

    let empty = tempfile::tempdir().unwrap();
    workbook()
        .current_dir(empty.path())
        .arg("report")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no workbook workspace"));
}

/// How many exercises the embedded catalog has.
fn exercise_count() -> usize {
    workbook::curriculum::catalog::exercises().unwrap().len()
}
