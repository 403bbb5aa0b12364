//! `workbook dev check`: the lint for exercise authors, on the repository's own exercises and
//! on fixtures broken on purpose (tests/fixtures/devcheck/broken/). No daemon is needed.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use workbook::commands::dev::{check_dir, Problem};

use crate::util;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// [`util::workbook`] with no daemon to reach.
fn workbook() -> Command {
    let mut cmd = util::workbook();
    cmd.env("DOCKER_HOST", util::NO_DAEMON);
    cmd
}

fn listed(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The problems found in `dir` (relative to the checkout), with paths relative to it.
fn problems_in(dir: &str) -> Vec<String> {
    let prefix = format!("{}/", root().display());
    check_dir(&root().join(dir))
        .unwrap()
        .iter()
        .map(|p| p.to_string().replace(&prefix, ""))
        .collect()
}

fn assert_has(problems: &[String], wanted: &str) {
    assert!(
        problems.iter().any(|p| p.starts_with(wanted)),
        "no problem starting with\n  {wanted}\nin\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_repository_exercises_pass() {
    let problems = check_dir(&root().join("exercises")).unwrap();
    assert!(
        problems.is_empty(),
        "dev check finds problems in exercises/:\n{}",
        listed(&problems)
    );
}

#[test]
fn a_clean_fixture_passes() {
    let problems = problems_in("tests/fixtures/devcheck/good/exercises");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn broken_fixtures_fail_with_file_and_line() {
    let problems = problems_in("tests/fixtures/devcheck/broken/exercises");
    let ex = "tests/fixtures/devcheck/broken/exercises";
    // Duplicate ids: the second occurrence, naming the first.
    assert_has(
        &problems,
        &format!("{ex}/01-duplicate-ids/exercise.toml:20: step id `create-volume` is used twice (first at line 11)"),
    );
    assert_has(
        &problems,
        &format!("{ex}/01-duplicate-ids/exercise.toml:37: mistake id `underscore` is used twice (first at line 30)"),
    );
    // A step without a mistake.
    assert_has(
        &problems,
        &format!("{ex}/02-no-mistake/exercise.toml:20: step `write-out` has no mistake"),
    );
    // A missing lesson marker (at the step's id), and a marker for no step (in the lesson).
    assert_has(
        &problems,
        &format!("{ex}/03-missing-marker/exercise.toml:20: step `write-out` has no part in"),
    );
    assert_has(
        &problems,
        "tests/fixtures/devcheck/broken/lessons/03-missing-marker.md:10: marker for step `write-output`, which the exercise does not have (did you mean `write-out`?)",
    );
    // An unknown key: the loader's own error, at the key's line.
    assert_has(
        &problems,
        &format!("{ex}/04-unknown-key/exercise.toml:3: unknown field `titel`"),
    );
    // Missing lesson and solution, and host paths that are not starter files.
    assert_has(
        &problems,
        &format!("{ex}/05-missing-files/exercise.toml:3: lesson file tests/fixtures/devcheck/broken/lessons/05-missing-files.md does not exist"),
    );
    assert_has(
        &problems,
        &format!("{ex}/05-missing-files/exercise.toml: no reference solution"),
    );
    assert_has(
        &problems,
        &format!("{ex}/05-missing-files/exercise.toml:24: step `create-volume`: `source` names the folder `models`"),
    );
    assert_has(
        &problems,
        &format!("{ex}/05-missing-files/exercise.toml:33: step `write-out`: `path` names the host file `report.txt`"),
    );
    assert_eq!(problems.len(), 10, "{}", problems.join("\n"));
}

#[test]
fn an_unreadable_folder_is_an_error() {
    let err = check_dir(&root().join("tests/fixtures/devcheck/no-such-folder"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn the_command_exit_codes() {
    // From the checkout, DIR defaults to its exercises/.
    workbook()
        .current_dir(root())
        .args(["dev", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("exercises: no problems found."));
    workbook()
        .current_dir(root())
        .args(["dev", "check", "tests/fixtures/devcheck/broken/exercises"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains(
                "tests/fixtures/devcheck/broken/exercises/02-no-mistake/exercise.toml:20: step `write-out` has no mistake",
            )
            .and(predicate::str::contains(
                "tests/fixtures/devcheck/broken/exercises/04-unknown-key/exercise.toml:3: unknown field `titel`",
            ))
            .and(predicate::str::contains("10 problems found.")),
        );
    workbook()
        .current_dir(root())
        .args(["dev", "check", "tests/fixtures/devcheck/no-such-folder"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read tests/fixtures/devcheck/no-such-folder",
        ));
    // Far from the checkout, the catalog built into the binary.
    let elsewhere = tempfile::tempdir().unwrap();
    workbook()
        .current_dir(elsewhere.path())
        .args(["dev", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "the embedded catalog: no problems found.",
        ));
}
