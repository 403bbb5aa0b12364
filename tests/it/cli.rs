//! The binary without a daemon: commands that must work offline, and errors for people.

use predicates::prelude::*;

use crate::util::workbook;

#[test]
fn init_writes_a_self_contained_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook()
        .arg("init")
        .arg(&ws)
        .assert()
        .success()
        .stdout(predicate::str::contains("Workspace ready"));
    assert!(ws.join(".workbook/progress.json").is_file());
    assert!(ws.join("01-named-volumes").is_dir());
    assert!(ws.join("02-bind-mounts/data/train.csv").is_file());
    assert!(ws.join("02-bind-mounts/models/VERSION").is_file());
    // Exercise data stays in the binary; only starter files are written.
    assert!(!ws.join("02-bind-mounts/exercise.toml").exists());
    // A second init keeps the learner's edits.
    std::fs::write(ws.join("02-bind-mounts/data/train.csv"), "mine").unwrap();
    workbook().arg("init").arg(&ws).assert().success();
    assert_eq!(
        std::fs::read_to_string(ws.join("02-bind-mounts/data/train.csv")).unwrap(),
        "mine"
    );
}

#[test]
fn list_hint_and_lesson_need_no_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    let dead = "unix:///nonexistent/docker.sock";
    workbook()
        .current_dir(&ws)
        .env("DOCKER_HOST", dead)
        .arg("list")
        .assert()
        .success()
        .stdout(predicate::str::contains("01-named-volumes").and(predicate::str::contains("0/3")));
    workbook()
        .current_dir(&ws)
        .env("DOCKER_HOST", dead)
        .arg("hint")
        .assert()
        .success()
        .stdout(predicate::str::contains("docker volume create ml-data"));
    workbook()
        .current_dir(&ws)
        .env("DOCKER_HOST", dead)
        .args(["lesson", "03"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("tmpfs").and(predicate::str::contains("workbook:step").not()),
        );
    let out = workbook()
        .current_dir(&ws)
        .args(["list", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["current"], "01-named-volumes");
    assert_eq!(v["exercises"][0]["steps_total"], 3);
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["exercises"]["01-named-volumes"]["hints_used"], 1);
}

#[test]
fn unknown_exercise_suggests_and_exits_2() {
    workbook().args(["lesson", "bind-mount"]).assert().success();
    workbook()
        .args(["lesson", "tmpsf"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no exercise `tmpsf`")
                .and(predicate::str::contains("03-tmpfs")),
        );
}

#[test]
fn dead_daemon_is_an_error_with_a_fix() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    workbook()
        .current_dir(&ws)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .arg("check")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("cannot reach the Docker daemon")
                .and(predicate::str::contains("Start it")),
        );
}

#[test]
fn check_outside_a_workspace_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    workbook()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("workbook next"));
}

#[test]
fn list_and_report_outside_a_workspace_say_there_is_no_progress_to_show() {
    let dir = tempfile::tempdir().unwrap();
    workbook()
        .current_dir(dir.path())
        .arg("list")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("No workspace here, so no progress to show")
                .and(predicate::str::contains(
                    "01-named-volumes     3 steps  Named volumes",
                ))
                .and(predicate::str::contains("pending").not())
                .and(predicate::str::contains("0/3").not()),
        );
    workbook()
        .current_dir(dir.path())
        .arg("report")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no workbook workspace here"));
}

#[test]
fn solution_prints_the_script() {
    workbook()
        .args(["solution", "01"])
        .assert()
        .success()
        .stdout(predicate::str::contains("docker volume create ml-data"));
}

#[test]
fn reset_refuses_to_remove_without_confirmation_when_not_interactive() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    std::fs::write(ws.join("02-bind-mounts/data/from-container.txt"), "x").unwrap();
    workbook()
        .current_dir(&ws)
        .args(["reset", "02"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("delete file").and(predicate::str::contains("--yes")));
    assert!(ws.join("02-bind-mounts/data/from-container.txt").exists());
}

#[test]
fn hostile_packs_are_refused_before_anything_runs() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    // A setup that would mount the Docker socket.
    workbook()
        .current_dir(dir.path())
        .args(["--pack", &format!("{fixtures}/hostile-pack"), "list"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("mounts `/var/run/docker.sock")
                .and(predicate::str::contains("never host paths")),
        );
    // A setup asking for a privileged container: the format has no such key.
    workbook()
        .current_dir(dir.path())
        .args(["--pack", &format!("{fixtures}/privileged-pack"), "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown field `privileged`"));
}

#[test]
fn a_packs_scripts_are_shown_and_need_a_yes() {
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/broken-pack");
    let dir = tempfile::tempdir().unwrap();
    workbook()
        .current_dir(dir.path())
        .args(["--pack", pack, "verify"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("will run these scripts")
                .and(predicate::str::contains(
                    "docker volume create --label purpose=fixture wb-fixture-broken",
                ))
                .and(predicate::str::contains("--yes")),
        );
    // A pack works in a workspace of its own, never the built-in workbook's.
    workbook()
        .current_dir(dir.path())
        .args(["--pack", pack, "init"])
        .assert()
        .success();
    assert!(dir
        .path()
        .join("broken-pack-workbook/01-broken-grader")
        .is_dir());
    assert!(!dir.path().join("docker-volumes-workbook").exists());
}
