//! Every exercise on the real daemon: it fails unsolved, its solution and variants pass, and
//! every recorded mistake makes its step fail with the expected message. The tests only remove
//! what an exercise declares (as `workbook reset` does) and workbook-labelled leftovers.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use assert_cmd::Command;
use serde_json::Value;
use workbook::exercise::Exercise;

/// Exercises share daemon-wide names (ml-data, trainer...): one at a time.
static DAEMON: Mutex<()> = Mutex::new(());

fn workbook(ws: &Path) -> Command {
    let mut cmd = Command::cargo_bin("workbook").unwrap();
    cmd.env("WORKBOOK_WORKSPACE", ws).env("NO_COLOR", "1");
    cmd
}

struct Lab {
    _dir: tempfile::TempDir,
    ws: PathBuf,
    rt: tokio::runtime::Runtime,
    engine: workbook::engine::Engine,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        Command::cargo_bin("workbook")
            .unwrap()
            .arg("init")
            .arg(&ws)
            .assert()
            .success();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let engine = rt
            .block_on(workbook::engine::connect())
            .expect("these tests need a Docker daemon");
        workbook(&ws).args(["setup"]).assert().success();
        Lab {
            _dir: dir,
            ws,
            rt,
            engine,
        }
    }

    fn exercise(&self, slug: &str) -> Exercise {
        workbook::catalog::exercises()
            .unwrap()
            .into_iter()
            .find(|e| e.slug == slug)
            .unwrap()
    }

    /// Back to the exercise's start: removes what it, its mistakes and its variants may create,
    /// then creates its setup again (as `workbook reset` does).
    fn reset(&self, ex: &Exercise) {
        self.clean(ex);
        self.rt
            .block_on(workbook::lab_setup::apply(&self.engine.docker, ex))
            .unwrap();
    }

    /// Removes what the exercise, its mistakes and its variants may create.
    fn clean(&self, ex: &Exercise) {
        let wsp = workbook::workspace::Workspace::find(Some(&self.ws))
            .unwrap()
            .unwrap();
        let items = self
            .rt
            .block_on(workbook::reset::plan(
                &self.engine.docker,
                &wsp,
                ex,
                &ex.all_resources(),
            ))
            .unwrap();
        let problems = self
            .rt
            .block_on(workbook::reset::execute(&self.engine.docker, &items));
        assert!(problems.is_empty(), "{problems:?}");
    }

    fn check(&self, slug: &str) -> (i32, Value) {
        let out = workbook(&self.ws)
            .args(["check", slug, "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap(), v)
    }

    fn sh(&self, slug: &str, script: &str) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(workbook::scripts::with_prelude(script))
            .current_dir(self.ws.join(slug))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "script failed: {script}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn probes_left(&self) -> usize {
        let out = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", "label=workbook.role"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    }
}

fn statuses(report: &Value) -> Vec<(String, String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn contract(slug: &str) {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::new();
    let ex = lab.exercise(slug);
    lab.reset(&ex);

    // Unsolved: every step fails (no step passes before the learner did anything).
    let (code, report) = lab.check(slug);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["version"], 1);
    assert_eq!(report["exercise"], slug);
    for (id, status, _) in statuses(&report) {
        assert_eq!(
            status, "fail",
            "step {id} of {slug} must fail before it is solved: {report}"
        );
    }

    // The reference solution passes.
    workbook(&lab.ws)
        .args(["solution", slug, "--run", "--yes"])
        .assert()
        .success();
    let (code, report) = lab.check(slug);
    assert_eq!(code, 0, "solution of {slug} must pass: {report}");
    assert_eq!(report["status"], "pass");

    for variant in &ex.data.variants {
        lab.reset(&ex);
        lab.sh(slug, &variant.run);
        let (code, report) = lab.check(slug);
        assert_eq!(
            code, 0,
            "variant {} of {slug} must pass: {report}",
            variant.id
        );
    }

    for m in &ex.data.mistakes {
        lab.reset(&ex);
        lab.sh(slug, &m.run);
        let (code, report) = lab.check(slug);
        assert_eq!(code, 1, "mistake {} of {slug}: {report}", m.id);
        let (_, status, message) = statuses(&report)
            .into_iter()
            .find(|(id, _, _)| id == &m.step)
            .unwrap();
        assert_eq!(
            status, "fail",
            "mistake {} must fail step {}: {report}",
            m.id, m.step
        );
        assert!(
            message.contains(&m.expect),
            "mistake {}: message must contain {:?}, was:\n{message}",
            m.id,
            m.expect
        );
    }

    lab.clean(&ex);
    assert_eq!(lab.probes_left(), 0, "grading left probe containers behind");
}

#[test]
fn exercise_01_named_volumes() {
    contract("01-named-volumes");
}

#[test]
fn exercise_02_bind_mounts() {
    contract("02-bind-mounts");
}

#[test]
fn exercise_03_tmpfs() {
    contract("03-tmpfs");
}

#[test]
fn exercise_04_checkpoints() {
    contract("04-checkpoints");
}

#[test]
fn exercise_05_shared_models() {
    contract("05-shared-models");
}

#[test]
fn exercise_06_volume_lifecycle() {
    contract("06-volume-lifecycle");
}

#[test]
fn exercise_07_backup_restore() {
    contract("07-backup-restore");
}

#[test]
fn exercise_08_performance() {
    contract("08-performance");
}

#[test]
fn exercise_09_permissions() {
    contract("09-permissions");
}

#[test]
fn exercise_10_volume_drivers() {
    contract("10-volume-drivers");
}

#[test]
fn exercise_11_capstone() {
    contract("11-capstone");
}

#[test]
fn every_exercise_has_a_contract_test() {
    let src = include_str!("exercises.rs");
    for ex in workbook::catalog::exercises().unwrap() {
        assert!(
            src.contains(&format!("contract(\"{}\")", ex.slug)),
            "no contract test for {}",
            ex.slug
        );
    }
}

#[test]
fn next_creates_the_default_workspace_and_moves_on_when_solved() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::new();
    let ex = lab.exercise("01-named-volumes");
    lab.clean(&ex);
    let cwd = tempfile::tempdir().unwrap();
    let next = || {
        let mut cmd = Command::cargo_bin("workbook").unwrap();
        cmd.env_remove("WORKBOOK_WORKSPACE")
            .env("NO_COLOR", "1")
            .current_dir(cwd.path())
            .arg("next");
        cmd
    };
    let out = next().output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Your task: Create the ml-data volume"),
        "{text}"
    );
    let ws = cwd.path().join("docker-volumes-workbook");
    assert!(ws.join(".workbook/progress.json").is_file());

    // Not solved yet: the same step again, exit 1.
    let out = next().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Your task: Create the ml-data volume"));

    workbook(&ws)
        .args(["solution", "--run", "--yes"])
        .assert()
        .success();
    let out = next().output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Named volumes complete!"), "{text}");
    assert!(text.contains("02-bind-mounts"), "{text}");
    let progress: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["exercises"]["01-named-volumes"]["status"], "done");
    assert_eq!(progress["current"], "02-bind-mounts");
    lab.clean(&ex);
}

#[test]
fn reset_removes_only_what_the_exercise_declares() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::new();
    let ex = lab.exercise("01-named-volumes");
    lab.clean(&ex);
    // Someone else's volume and container, with names close to the exercise's.
    let other_vol = format!("learner-keep-{}", std::process::id());
    let other_ctr = format!("learner-keep-ctr-{}", std::process::id());
    lab.sh("01-named-volumes", &format!(
        "docker volume create {other_vol} >/dev/null && docker create --name {other_ctr} -v {other_vol}:/data workbook/tools true >/dev/null"
    ));
    workbook(&lab.ws)
        .args(["solution", "01", "--run", "--yes"])
        .assert()
        .success();
    let out = workbook(&lab.ws)
        .args(["reset", "01", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("remove volume ml-data"), "{said}");
    let survived = std::process::Command::new("docker")
        .args(["volume", "inspect", &other_vol])
        .output()
        .unwrap();
    assert!(
        survived.status.success(),
        "reset removed a volume it did not create"
    );
    let survived = std::process::Command::new("docker")
        .args(["inspect", &other_ctr])
        .output()
        .unwrap();
    assert!(
        survived.status.success(),
        "reset removed a container it did not create"
    );
    let gone = std::process::Command::new("docker")
        .args(["volume", "inspect", "ml-data"])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "reset kept ml-data");
    lab.sh(
        "01-named-volumes",
        &format!("docker rm {other_ctr} >/dev/null && docker volume rm {other_vol} >/dev/null"),
    );
}
