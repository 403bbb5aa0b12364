//! Grading: gather the facts every step of an exercise needs, then judge each step.

use std::path::Path;

use serde::Serialize;

use crate::checks::{Status, Verdict};
use crate::exercise::Exercise;
use crate::snapshot::{gather_with, Memory, Needs, Snapshot};

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
            Status::Pass => 0,
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

/// Grades an exercise on the daemon; `exercise_dir` is its folder in the workspace.
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
    judge(ex, &snap)
}
