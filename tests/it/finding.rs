//! Finding your way (issue 14): which exercise a command means (a slug, a number, a word of a
//! title in any case, the exercise folder you are in), the hint of the first step not passing,
//! `--help`, shell completions, the man page, and tables as wide as the terminal. None of these
//! tests uses the real daemon: `check` is graded by the fake engine.

use std::path::Path;

use crate::util::fake_engine::FakeEngine;
use crate::util::{init_workspace, json_stdout, workbook, NO_DAEMON};

/// `workbook ARGS` in `dir`, with no daemon.
fn in_dir(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    workbook()
        .current_dir(dir)
        .env("DOCKER_HOST", NO_DAEMON)
        .env("NO_PAGER", "1")
        .args(args)
        .assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// Makes `slug` the workspace's current exercise, as `next` would.
fn set_current(ws: &Path, slug: &str, steps: &[(&str, &str)]) {
    let path = ws.join(".workbook/progress.json");
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    p["current"] = slug.into();
    let mut recorded = serde_json::Map::new();
    for (id, last) in steps {
        let mut step = serde_json::json!({ "failed_attempts": 0, "last": last });
        if *last == "pass" {
            step["first_passed"] = 1_700_000_000u64.into();
        }
        recorded.insert(id.to_string(), step);
    }
    p["exercises"][slug] = serde_json::json!({ "steps": recorded });
    std::fs::write(&path, serde_json::to_string_pretty(&p).unwrap()).unwrap();
}

// ---------------------------------------------------------------- selection

#[test]
fn exercises_are_found_in_any_case_and_by_words_of_their_titles() {
    let dir = tempfile::tempdir().unwrap();
    for (wanted, heading) in [
        ("TMPFS", "Hint for 03-tmpfs"),
        ("tmpfs", "Hint for 03-tmpfs"),
        ("permission", "Hint for 09-permissions"),
        ("Disaster", "Hint for 11-capstone"),
        ("02", "Hint for 02-bind-mounts"),
        ("Bind-Mounts", "Hint for 02-bind-mounts"),
    ] {
        let a = in_dir(dir.path(), &["hint", wanted]).success();
        assert!(stdout(&a).contains(heading), "{wanted}: {}", stdout(&a));
    }
}

#[test]
fn an_ambiguous_word_lists_the_candidates_and_a_typo_gets_a_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let a = in_dir(dir.path(), &["lesson", "volume"]).code(2);
    let err = stderr(&a);
    assert!(err.contains("`volume` matches 3 exercises"), "{err}");
    assert!(
        err.contains("06-volume-lifecycle (Volume commands)"),
        "{err}"
    );
    assert!(err.contains("10-volume-drivers (Volume drivers)"), "{err}");
    assert!(a.get_output().stdout.is_empty());
    let a = in_dir(dir.path(), &["solution", "permisions"]).code(2);
    let err = stderr(&a);
    assert!(
        err.contains(
            "no exercise `permisions`. Did you mean `09-permissions` (Manage volume permissions)?"
        ),
        "{err}"
    );
    let a = in_dir(dir.path(), &["hint", "Capstnoe"]).code(2);
    assert!(
        stderr(&a).contains("Did you mean `11-capstone`"),
        "{}",
        stderr(&a)
    );
}

// ---------------------------------------------------------------- the folder you are in

#[test]
fn hint_and_lesson_in_an_exercise_folder_mean_that_exercise() {
    let (_dir, ws) = init_workspace();
    // The current exercise is 07 (as after `reset 07`); the learner works in 11's folder.
    set_current(&ws, "07-backup-restore", &[]);
    let sub = ws.join("11-capstone/backups");
    std::fs::create_dir_all(&sub).unwrap();
    for dir in [ws.join("11-capstone"), sub.clone()] {
        let a = in_dir(&dir, &["hint"]).success();
        assert!(
            stdout(&a).contains("Hint for 11-capstone"),
            "{}",
            stdout(&a)
        );
        let a = in_dir(&dir, &["lesson"]).success();
        assert!(stdout(&a).contains("disaster"), "{}", stdout(&a));
        assert!(!stdout(&a).contains("Hint for"));
    }
    // In 03's folder, `lesson` is 03's; at the workspace's root, the current exercise's.
    let a = in_dir(&ws.join("03-tmpfs"), &["lesson"]).success();
    assert!(stdout(&a).contains("tmpfs"), "{}", stdout(&a));
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 07-backup-restore"),
        "{}",
        stdout(&a)
    );
    // An exercise named on the command line wins over the folder.
    let a = in_dir(&ws.join("11-capstone"), &["hint", "01"]).success();
    assert!(
        stdout(&a).contains("Hint for 01-named-volumes"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn check_in_an_exercise_folder_grades_that_exercise() {
    let (_dir, ws) = init_workspace();
    set_current(&ws, "07-backup-restore", &[]);
    let sub = ws.join("01-named-volumes/notes");
    std::fs::create_dir_all(&sub).unwrap();
    // The fake engine answers exercise 01's requests as a daemon where it is solved; it makes
    // nothing on the real daemon.
    let fake = FakeEngine::start();
    let out = workbook()
        .current_dir(&sub)
        .env("DOCKER_HOST", fake.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .env("WORKBOOK_DOCKER_TIMEOUT", "10")
        .args(["check", "--json"])
        .output()
        .unwrap();
    let report = json_stdout(&out);
    assert_eq!(report["exercise"], "01-named-volumes", "{report}");
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(fake.live_containers().is_empty());
}

// ---------------------------------------------------------------- hint

#[test]
fn hint_gives_the_first_step_not_passing() {
    let (_dir, ws) = init_workspace();
    // 11: steps 1 and 2 pass, 3 fails: step 3's hint, not step 1's.
    set_current(
        &ws,
        "11-capstone",
        &[
            ("stack-up", "pass"),
            ("backup", "pass"),
            ("restore-drill", "fail"),
        ],
    );
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 11-capstone · checkpoints destroyed, re-created, restored"),
        "{}",
        stdout(&a)
    );
    // Step 1 passed once and fails now: its hint again. A step not available on this engine
    // is settled.
    set_current(
        &ws,
        "11-capstone",
        &[
            ("stack-up", "unavailable"),
            ("backup", "fail"),
            ("restore-drill", "fail"),
        ],
    );
    let a = in_dir(&ws, &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 11-capstone · backups/checkpoints.tar.gz"),
        "{}",
        stdout(&a)
    );
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["exercises"]["11-capstone"]["hints_used"], 1);
}

#[test]
fn hint_works_outside_a_workspace_like_lesson() {
    let dir = tempfile::tempdir().unwrap();
    let a = in_dir(dir.path(), &["hint"]).success();
    assert!(
        stdout(&a).contains("Hint for 01-named-volumes"),
        "{}",
        stdout(&a)
    );
    assert!(stderr(&a).contains("No workspace here"), "{}", stderr(&a));
    let a = in_dir(dir.path(), &["hint", "tmpfs"]).success();
    assert!(stdout(&a).contains("Hint for 03-tmpfs"));
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
