//! Every exercise on the real daemon, through `workbook verify` (the same guard instructors
//! and authors use): it fails unsolved, its solution and variants pass, and every recorded
//! mistake makes its step fail with the expected message, leaving nothing behind. The tests
//! remove only what an exercise declares (as `workbook reset` does) and what they made.
//!
//! Each contract test's verdict is also its cell of the `Docker + Compose v1` column of
//! docs/compatibility.md (see [`util::compat`]).

use std::path::Path;

use serde_json::Value;

use crate::util::{self, compat, docker, docker_ok, workbook};

fn in_workspace(ws: &Path) -> assert_cmd::Command {
    let mut cmd = workbook();
    cmd.env("WORKBOOK_WORKSPACE", ws);
    cmd
}

/// `workbook [pre...] verify [args...] --json --yes`: exit code and report.
fn verify(pre: &[&str], args: &[&str]) -> (i32, Value) {
    let out = workbook()
        .args(pre)
        .arg("verify")
        .args(args)
        .args(["--json", "--yes"])
        .output()
        .unwrap();
    let report: Value = util::json_stdout(&out);
    (out.status.code().unwrap_or(-1), report)
}

fn contract(slug: &str) {
    let _daemon = util::daemon();
    let (code, report) = verify(&[], &[slug]);
    let v = &report["exercises"][0];
    assert_eq!(v["exercise"], slug);
    assert_eq!(v["problems"], serde_json::json!([]), "{slug}: {report:#}");
    assert_eq!(v["fails_unsolved"], true);
    assert_eq!(v["solution_passes"], true);
    assert_eq!(v["mistakes_caught"], v["mistakes_total"]);
    assert!(v["mistakes_total"].as_u64().unwrap() >= 1, "{report:#}");
    assert_eq!(v["variants_passed"], v["variants_total"]);
    assert_eq!(
        report["left_behind"],
        serde_json::json!([]),
        "verify left resources behind: {report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
    eprintln!(
        "{slug} on {}: {:.1} s",
        v["engine"].as_str().unwrap(),
        v["seconds"].as_f64().unwrap_or_default()
    );
    compat::expect_cells(
        compat::DOCKER_COMPOSE_V1,
        &[
            (
                compat::ENGINE_ROW.to_string(),
                v["engine"].as_str().unwrap().to_string(),
            ),
            (slug.to_string(), compat::cell(v)),
        ],
        "cargo test --test it -- exercises::exercise_",
    );
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
fn exercise_12_database() {
    contract("12-database");
}

#[test]
fn every_exercise_has_a_contract_test() {
    let src = include_str!("exercises.rs");
    for ex in workbook::curriculum::catalog::exercises().unwrap() {
        assert!(
            src.contains(&format!("contract(\"{}\")", ex.slug)),
            "no contract test for {}",
            ex.slug
        );
        let steps = ex.steps().len();
        for step in ex.steps() {
            assert!(
                ex.data.mistakes.iter().any(|m| m.step == step.id),
                "{}: step {} has no recorded mistake ({steps} steps)",
                ex.slug,
                step.id
            );
        }
    }
}

#[test]
fn verify_catches_a_grader_that_passes_a_mistake() {
    let _daemon = util::daemon();
    let pack = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/broken-pack");
    let (code, report) = verify(&["--pack", pack], &[]);
    assert_eq!(code, 1, "{report:#}");
    let v = &report["exercises"][0];
    assert_eq!(v["fails_unsolved"], true, "{report:#}");
    assert_eq!(v["solution_passes"], true, "{report:#}");
    assert_eq!(v["mistakes_caught"], 0, "{report:#}");
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("mistake no-label: step labelled-volume PASSES"),
        "{problems}"
    );
    assert_eq!(report["left_behind"], serde_json::json!([]));
    assert!(
        !docker_ok(&["volume", "inspect", "wb-fixture-broken"]),
        "verify left the fixture volume"
    );
}

#[test]
fn next_creates_the_default_workspace_and_moves_on_when_solved() {
    let _daemon = util::daemon();
    let cwd = tempfile::tempdir().unwrap();
    let ws = cwd.path().join("docker-volumes-workbook");
    let next = || {
        let mut cmd = workbook();
        cmd.current_dir(cwd.path()).arg("next");
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
    assert!(ws.join(".workbook/progress.json").is_file());
    in_workspace(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
    // After a reset the step is shown afresh; once tried, `next` says why it is not done.
    let out = next().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = next().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Your task: Create the ml-data volume"),
        "{text}"
    );
    assert!(text.contains("no volume named ml-data"), "{text}");

    in_workspace(&ws)
        .args(["solution", "--run", "--yes"])
        .assert()
        .success();
    let out = next().output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Named volumes complete!"), "{text}");
    // Steps 2 and 3 passed along with step 1, the one shown: their tasks are shown too, once.
    for task in [
        "Done: Write hello.txt into ml-data from a container",
        "Done: The data outlives every container",
    ] {
        assert_eq!(text.matches(task).count(), 1, "{text}");
    }
    assert!(!text.contains("Done: Create the ml-data volume"), "{text}");
    assert!(text.contains("02-bind-mounts"), "{text}");
    let progress: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join(".workbook/progress.json")).unwrap())
            .unwrap();
    assert_eq!(progress["exercises"]["01-named-volumes"]["status"], "done");
    assert_eq!(progress["current"], "02-bind-mounts");
    in_workspace(&ws)
        .args(["reset", "01", "--yes"])
        .assert()
        .success();
}

/// Someone else's volume and container, with names close to the exercises', that no reset may touch.
struct Bystanders {
    volume: String,
    container: String,
}

impl Bystanders {
    fn new() -> Bystanders {
        let b = Bystanders {
            volume: format!("learner-keep-{}", std::process::id()),
            container: format!("learner-keep-ctr-{}", std::process::id()),
        };
        assert!(docker_ok(&["volume", "create", &b.volume]));
        assert!(docker_ok(&[
            "create",
            "--name",
            &b.container,
            "-v",
            &format!("{}:/data", b.volume),
            "workbook/tools",
            "true"
        ]));
        b
    }

    fn survived(&self) -> bool {
        docker_ok(&["volume", "inspect", &self.volume]) && docker_ok(&["inspect", &self.container])
    }
}

impl Drop for Bystanders {
    fn drop(&mut self) {
        docker_ok(&["rm", "-f", &self.container]);
        docker_ok(&["volume", "rm", &self.volume]);
    }
}

#[test]
fn reset_removes_only_what_the_exercise_declares() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    in_workspace(&ws).arg("setup").assert().success();
    let bystanders = Bystanders::new();
    in_workspace(&ws)
        .args(["solution", "01", "--run", "--yes"])
        .assert()
        .success();
    let out = in_workspace(&ws)
        .args(["reset", "01", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("remove volume ml-data"), "{said}");
    assert!(
        bystanders.survived(),
        "reset removed something it did not create"
    );
    assert!(
        !docker_ok(&["volume", "inspect", "ml-data"]),
        "reset kept ml-data"
    );
}

/// A learner's own compose project in a folder that happens to share an exercise's name.
struct ComposeBystander {
    dir: tempfile::TempDir,
}

impl ComposeBystander {
    fn new() -> ComposeBystander {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("04-checkpoints");
        std::fs::create_dir(&project).unwrap();
        std::fs::write(
            project.join("docker-compose.yml"),
            "version: '3.8'\nservices:\n  keep:\n    image: workbook/tools\n    command: [\"sleep\", \"infinity\"]\n    volumes:\n      - keepdata:/data\nvolumes:\n  keepdata:\n",
        )
        .unwrap();
        let b = ComposeBystander { dir };
        assert!(
            b.compose(&["up", "-d"]),
            "could not start the bystander compose project"
        );
        b
    }

    fn compose(&self, args: &[&str]) -> bool {
        let script = format!("docker compose {}", args.join(" "));
        std::process::Command::new("sh")
            .arg("-c")
            .arg(workbook::lab::scripts::with_prelude(&script))
            .current_dir(self.dir.path().join("04-checkpoints"))
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn survived(&self) -> bool {
        let out = docker(&[
            "ps",
            "-q",
            "--filter",
            "label=com.docker.compose.service=keep",
            "--filter",
            "label=com.docker.compose.project=04-checkpoints",
        ]);
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
            && docker_ok(&["volume", "inspect", "04-checkpoints_keepdata"])
    }
}

impl Drop for ComposeBystander {
    fn drop(&mut self) {
        self.compose(&["down", "-v"]);
    }
}

#[test]
fn verify_spares_everything_else() {
    let _daemon = util::daemon();
    let bystanders = Bystanders::new();
    let (code, report) = verify(&[], &["01", "06"]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        bystanders.survived(),
        "verify removed something it did not create"
    );
}

#[test]
fn reset_all_between_attendees_spares_everything_else() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    in_workspace(&ws).arg("setup").assert().success();
    // Leftovers of an earlier, interrupted run go first.
    in_workspace(&ws)
        .args(["reset", "--all", "--yes"])
        .assert()
        .success();
    let bystanders = Bystanders::new();
    let compose_bystander = ComposeBystander::new();
    for ex in ["01", "03", "06"] {
        in_workspace(&ws)
            .args(["solution", ex, "--run", "--yes"])
            .assert()
            .success();
    }
    // A setup volume of 06 exists and is the workbook's; 01 and 03 made ml-data, scratch, cache.
    in_workspace(&ws).args(["check", "06"]).assert().code(0);
    let out = in_workspace(&ws)
        .args(["reset", "--all", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    for gone in [
        "remove volume ml-data",
        "remove container cache",
        "remove container keeper",
        "remove volume keep-me",
    ] {
        assert!(said.contains(gone), "{gone} missing from:\n{said}");
    }
    assert!(
        bystanders.survived(),
        "reset --all removed something it did not create"
    );
    assert!(
        compose_bystander.survived(),
        "reset --all removed a compose project of another folder named like an exercise"
    );
    for name in ["ml-data", "keep-me", "practice-vol"] {
        assert!(
            !docker_ok(&["volume", "inspect", name]),
            "{name} survived reset --all"
        );
    }
    let out = in_workspace(&ws).args(["list", "--json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["current"], "01-named-volumes");
}

/// A learner who linked an exercise's folder to their own data (`data -> ~/datasets`) keeps
/// it: `reset` never writes or deletes through a link that leaves the workspace, and says so;
/// `init` does not write starter files through it either.
#[test]
fn reset_never_writes_through_a_link_out_of_the_workspace() {
    let _daemon = util::daemon();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    let datasets = dir.path().join("datasets");
    std::fs::create_dir(&datasets).unwrap();
    std::fs::write(datasets.join("train.csv"), "the learner's own data\n").unwrap();
    let data = ws.join("02-bind-mounts/data");
    std::fs::remove_dir_all(&data).unwrap();
    std::os::unix::fs::symlink(&datasets, &data).unwrap();

    let out = in_workspace(&ws)
        .args(["reset", "02", "--yes"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert_eq!(
        std::fs::read_to_string(datasets.join("train.csv")).unwrap(),
        "the learner's own data\n",
        "reset wrote through the link: {said}"
    );
    assert!(
        said.contains("train.csv alone: a link takes it out of the workspace"),
        "{said}"
    );
    // Starter files missing behind the link are not written there by `init` either.
    std::fs::remove_file(datasets.join("train.csv")).unwrap();
    let out = workbook().arg("init").arg(&ws).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !datasets.join("train.csv").exists(),
        "init wrote through the link: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// On a full disk, `check` still shows the verdict it computed (text and --json), then says
/// that it could not be recorded, with exit code 2. Needs root to mount a small tmpfs.
#[test]
fn a_full_disk_does_not_hide_the_verdict() {
    let _daemon = util::daemon();
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a tmpfs to fill needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    workbook().arg("init").arg(&ws).assert().success();
    let state = ws.join(".workbook");
    let kept = dir.path().join("state");
    std::fs::rename(&state, &kept).unwrap();
    std::fs::create_dir(&state).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&state)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a tmpfs on {}", state.display());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(state.clone());
    for f in std::fs::read_dir(&kept).unwrap().flatten() {
        std::fs::copy(f.path(), state.join(f.file_name())).unwrap();
    }
    std::fs::write(state.join("lock"), "").unwrap();
    // Fill it.
    let mut filler = std::fs::File::create(state.join("filler")).unwrap();
    let _ = std::io::Write::write_all(&mut filler, &vec![0u8; 128 * 1024]);
    drop(filler);

    let out = in_workspace(&ws).args(["check", "03"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("03-tmpfs") && stdout.contains("0/2 steps pass"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("cannot save progress"), "{stderr}");
    assert!(stderr.contains("was not recorded"), "{stderr}");

    let out = in_workspace(&ws)
        .args(["check", "03", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(report["exercise"], "03-tmpfs");
    assert_eq!(report["status"], "fail");
}
