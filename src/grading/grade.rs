//! Grading: gather the facts every step of an exercise needs, then judge each step.

use std::path::Path;

use serde::Serialize;

use crate::checks::capability::Capability;
use crate::checks::snapshot::{Needs, Snapshot};
use crate::checks::{Check, Status, Verdict};
use crate::curriculum::exercise::Exercise;
use crate::grading::gather::{gather_with, Memory};

/// The verdict on one step: the first check that does not pass decides it.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub message: String,
}

/// `{"version":1,"exercise":SLUG,"status":"pass|fail|error","steps":[...]}`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: u32,
    pub exercise: String,
    pub status: Status,
    pub steps: Vec<StepReport>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }

    pub fn step(&self, id: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// 0 all pass, 1 some fail, 2 error.
    pub fn exit_code(&self) -> i32 {
        match self.status {
            // Unavailable steps aside, everything passed.
            Status::Pass | Status::Unavailable => 0,
            Status::Fail => 1,
            Status::Error => 2,
        }
    }
}

/// What every check of the exercise reads.
pub fn needs(ex: &Exercise) -> Needs {
    let mut needs = Needs::default();
    for step in ex.steps() {
        for check in &step.checks {
            check.needs(&mut needs);
        }
        let engine = step.needs_of_engine();
        needs.engine |= !engine.is_empty();
        needs.host_files |= engine.contains(&Capability::HostFiles);
    }
    needs
}

/// Judges every step against a snapshot (pure: no daemon).
pub fn judge(ex: &Exercise, snap: &Snapshot) -> Report {
    let steps: Vec<StepReport> = ex
        .steps()
        .iter()
        .map(|step| {
            let verdicts: Vec<Verdict> = step.checks.iter().map(|c| c.evaluate(snap)).collect();
            let decisive = verdicts
                .iter()
                .find(|v| !v.is_pass())
                .cloned()
                .map(|v| unless_unavailable(v, &step.needs_of_engine(), snap))
                .unwrap_or_else(|| {
                    Verdict::pass(
                        verdicts
                            .iter()
                            .map(|v| v.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )
                });
            StepReport {
                id: step.id.clone(),
                title: step.title.clone(),
                status: decisive.status,
                message: decisive.message,
            }
        })
        .collect();
    let status = if steps.iter().any(|s| s.status == Status::Error) {
        Status::Error
    } else if steps.iter().any(|s| s.status == Status::Fail) {
        Status::Fail
    } else {
        Status::Pass
    };
    Report {
        version: 1,
        exercise: ex.slug.clone(),
        status,
        steps,
    }
}

/// A step that does not pass on an engine that lacks what it needs is not available there,
/// not failed: the learner could not have done it ([`crate::checks::capability`]). Errors stay
/// errors (the daemon did not answer), and a pass is a pass on any engine.
fn unless_unavailable(v: Verdict, needs: &[Capability], snap: &Snapshot) -> Verdict {
    match &snap.engine {
        Some(Ok(engine)) if v.status == Status::Fail => {
            match crate::checks::capability::unavailable(needs, engine) {
                Some(why) => Verdict::unavailable(why),
                None => v,
            }
        }
        _ => v,
    }
}

/// Host files up to this size are read and scanned where the grading runs: a tenth of a second
/// at most, even for a gzip archive that expands a thousand times (a learner's backups are a few
/// KiB). A larger one, or one that is not a regular file (a named pipe, whose read may never
/// end), is judged on a blocking thread.
pub const INLINE_READ_LIMIT: u64 = 64 << 10;

/// Grades an exercise on the daemon; `exercise_dir` is its folder in the workspace.
///
/// Judging is pure but for the checks that read files on the host (host files, backup
/// archives). When one of those files could take long to read ([`judging_may_block`]), the
/// judging runs on a blocking thread, so that it keeps no other work of this runtime waiting,
/// the command's signal handling and watch's keys included. Otherwise it runs here: a thread
/// would cost more than the judging (~0.4 ms of CPU).
pub async fn grade(docker: &bollard::Docker, ex: &Exercise, exercise_dir: &Path) -> Report {
    grade_with(docker, ex, exercise_dir, &Memory::default()).await
}

/// [`grade`], sharing `memory` (the volume history known so far, recent exec results) with
/// the other gradings of a session; what this grading learns is added to it.
pub async fn grade_with(
    docker: &bollard::Docker,
    ex: &Exercise,
    exercise_dir: &Path,
    memory: &Memory,
) -> Report {
    let snap = gather_with(docker, exercise_dir, &needs(ex), memory).await;
    if !judging_may_block(ex, exercise_dir) {
        return judge(ex, &snap);
    }
    let exercise = ex.clone();
    match tokio::task::spawn_blocking(move || judge(&exercise, &snap)).await {
        Ok(report) => report,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down, which ends this future too.
        Err(e) => cancelled(ex, &e.to_string()),
    }
}

/// Whether a check of `ex` reads a host file (relative to `dir`) that is larger than
/// [`INLINE_READ_LIMIT`] or not a regular file. A file that does not exist is not read.
pub fn judging_may_block(ex: &Exercise, dir: &Path) -> bool {
    host_files(ex).any(|path| match std::fs::metadata(dir.join(path)) {
        Ok(meta) => !meta.is_file() || meta.len() > INLINE_READ_LIMIT,
        Err(_) => false,
    })
}

/// The host files, relative to the exercise folder, that the checks of `ex` read.
fn host_files(ex: &Exercise) -> impl Iterator<Item = &str> {
    ex.steps()
        .iter()
        .flat_map(|s| &s.checks)
        .filter_map(|c| match c {
            Check::HostFile(c) => Some(c.path.as_str()),
            Check::BackupArchive(c) => Some(c.path.as_str()),
            Check::VolumeMatchesArchive(c) => Some(c.archive.as_str()),
            _ => None,
        })
}

/// Every step an error: the judging did not finish.
fn cancelled(ex: &Exercise, why: &str) -> Report {
    let steps: Vec<StepReport> = ex
        .steps()
        .iter()
        .map(|step| StepReport {
            id: step.id.clone(),
            title: step.title.clone(),
            status: Status::Error,
            message: format!("the grading was stopped before it judged this step ({why})"),
        })
        .collect();
    Report {
        version: 1,
        exercise: ex.slug.clone(),
        status: Status::Error,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(podman: bool, unseen_host: Option<&str>) -> crate::checks::snapshot::EngineFacts {
        crate::checks::snapshot::EngineFacts::for_test(podman, unseen_host)
    }

    #[test]
    fn a_step_the_engine_cannot_do_is_not_available_instead_of_failed() {
        let cat = crate::curriculum::catalog::Catalog::embedded().unwrap();
        let ex = cat.get("10-volume-drivers").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ramdisk = |snap: &Snapshot| judge(ex, snap).steps[0].clone();
        let mut snap = Snapshot::new(dir.path());
        assert!(needs(ex).engine, "10 declares what a step needs");
        // No ramdisk at all: on Docker a fail, on Podman not available (and not a fail of
        // the exercise: the other steps decide it).
        snap.engine = Some(Ok(facts(false, None)));
        assert_eq!(ramdisk(&snap).status, Status::Fail);
        snap.engine = Some(Ok(facts(true, None)));
        let step = ramdisk(&snap);
        assert_eq!(step.status, Status::Unavailable, "{}", step.message);
        assert!(step.message.contains("not available on Podman 4.3.1"));
        let report = judge(ex, &snap);
        assert_eq!(report.status, Status::Fail, "the other steps still fail");
        // The engine did not answer: grading cannot say, the step fails as on any engine.
        snap.engine = Some(Err("no answer".into()));
        assert_eq!(ramdisk(&snap).status, Status::Fail);
        // A pass is a pass on any engine.
        let ok: bollard::models::Volume = serde_json::from_value(serde_json::json!({
            "Name": "ramdisk", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/ramdisk/_data",
            "Options": {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}, "Labels": {}, "Scope": "local"
        }))
        .unwrap();
        snap.volumes = Ok(vec![ok]);
        snap.engine = Some(Ok(facts(true, None)));
        assert_eq!(ramdisk(&snap).status, Status::Pass);
    }

    #[test]
    fn on_an_engine_that_cannot_see_this_machine_host_file_steps_are_not_available() {
        let cat = crate::curriculum::catalog::Catalog::embedded().unwrap();
        let ex = cat.get("02-bind-mounts").unwrap();
        assert!(needs(ex).host_files);
        assert!(!needs(cat.get("01-named-volumes").unwrap()).host_files);
        let dir = tempfile::tempdir().unwrap();
        let mut snap = Snapshot::new(dir.path());
        snap.engine = Some(Ok(facts(false, None)));
        let report = judge(ex, &snap);
        assert!(report.steps.iter().all(|s| s.status == Status::Fail));
        snap.engine = Some(Ok(facts(
            false,
            Some("the engine at tcp://10.0.0.5:2376 does not see this machine's folders"),
        )));
        let report = judge(ex, &snap);
        let host_steps: Vec<&StepReport> = report
            .steps
            .iter()
            .filter(|s| {
                ex.step(&s.id)
                    .unwrap()
                    .needs_of_engine()
                    .contains(&Capability::HostFiles)
            })
            .collect();
        assert!(!host_steps.is_empty());
        for s in host_steps {
            assert_eq!(s.status, Status::Unavailable, "{}: {}", s.id, s.message);
            assert!(s.message.contains("cannot be graded on a remote engine"));
        }
    }

    #[test]
    fn judging_goes_off_thread_only_for_a_host_file_that_may_take_long() {
        let cat = crate::curriculum::catalog::Catalog::embedded().unwrap();
        let reading: Vec<&str> = cat
            .exercises()
            .unwrap()
            .iter()
            .filter(|ex| host_files(ex).next().is_some())
            .map(|ex| ex.slug.as_str())
            .collect();
        // A host file (02), backup archives (07, 11).
        assert_eq!(
            reading,
            ["02-bind-mounts", "07-backup-restore", "11-capstone"]
        );
        let ex = cat.get("02-bind-mounts").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data/from-container.txt");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        // Absent, then small: read where the grading runs.
        assert!(!judging_may_block(ex, dir.path()));
        std::fs::write(&file, "laptop\n").unwrap();
        assert!(!judging_may_block(ex, dir.path()));
        // Larger than the limit, or not a regular file: off the runtime thread.
        std::fs::File::create(&file)
            .unwrap()
            .set_len(INLINE_READ_LIMIT + 1)
            .unwrap();
        assert!(judging_may_block(ex, dir.path()));
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        assert!(judging_may_block(ex, dir.path()));
        // Exercise 03 reads no host file.
        assert!(!judging_may_block(cat.get("03-tmpfs").unwrap(), dir.path()));
    }
}
