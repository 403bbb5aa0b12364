//! `workbook report [--json]`: the learner's progress for an instructor, read from the
//! workspace's progress state and the exercises. It only reads: the progress file is never
//! written, and an unreadable one is left where it is (other commands move it aside).
//!
//! The JSON is versioned and documented in `docs/report-schema.md`; within a version fields
//! are only ever added.

use crate::util::error::Result;
use std::path::Path;

use console::style;
use serde::{Deserialize, Serialize};

use crate::curriculum::exercise::Exercise;
use crate::learner::progress::{ExerciseStatus, Progress, StepProgress, PROGRESS_VERSION};
use crate::learner::workspace::{Workspace, DEFAULT_DIR};
use crate::ui::output::{json, out};
use crate::util::clock::now;

/// The version of the report's JSON schema (`docs/report-schema.md`).
pub const REPORT_VERSION: u32 = 1;

/// A status in the report. `pending`: not graded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Pass,
    Fail,
    Pending,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Pass => "pass",
            ReportStatus::Fail => "fail",
            ReportStatus::Pending => "pending",
        }
    }
}

/// The whole report: `{"version":1,"workspace":..,"generated_at":..,"status":..,"exercises":[..]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgressReport {
    pub version: u32,
    /// The workspace folder, absolute.
    pub workspace: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub status: ReportStatus,
    pub exercises: Vec<ExerciseReport>,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExerciseReport {
    pub slug: String,
    pub title: String,
    pub status: ReportStatus,
    pub hints_used: u32,
    /// RFC 3339, UTC: when the exercise was first graded complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub id: String,
    pub title: String,
    pub status: ReportStatus,
    /// RFC 3339, UTC: the first grading that passed this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_passed: Option<String>,
    /// Gradings of this step that did not pass.
    pub attempts: u32,
    /// For people: why the step is not passed (absent when it passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub exercises_done: usize,
    pub exercises_total: usize,
    pub steps_passed: usize,
    pub steps_total: usize,
    pub hints_used: u64,
    pub failed_attempts: u64,
}

/// Unix seconds as RFC 3339 UTC (`2025-03-01T14:05:09Z`); the epoch past chrono's range.
pub fn rfc3339(secs: u64) -> String {
    crate::util::clock::rfc3339(secs).unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

fn step_report(step: &crate::curriculum::exercise::Step, sp: Option<&StepProgress>) -> StepReport {
    let attempts = sp.map(|s| s.failed_attempts).unwrap_or(0);
    let first_passed = sp.and_then(|s| s.first_passed);
    let (status, message) = match (first_passed, attempts) {
        (Some(_), _) => (ReportStatus::Pass, None),
        (None, 0) => (ReportStatus::Pending, Some("not graded yet".to_string())),
        (None, n) => (
            ReportStatus::Fail,
            Some(format!(
                "not passed yet: {n} grading{} did not pass",
                if n == 1 { "" } else { "s" }
            )),
        ),
    };
    StepReport {
        id: step.id.clone(),
        title: step.title.clone(),
        status,
        first_passed: first_passed.map(rfc3339),
        attempts,
        message,
    }
}

/// The report of `progress` over the exercises, as of `now` (unix seconds).
pub fn build(
    exercises: &[Exercise],
    progress: &Progress,
    workspace: &Path,
    now: u64,
) -> ProgressReport {
    let mut totals = Totals {
        exercises_total: exercises.len(),
        ..Totals::default()
    };
    let reports: Vec<ExerciseReport> = exercises
        .iter()
        .map(|ex| {
            let p = progress.exercise(&ex.slug);
            let steps: Vec<StepReport> = ex
                .steps()
                .iter()
                .map(|s| step_report(s, p.and_then(|p| p.steps.get(&s.id))))
                .collect();
            let done = p.is_some_and(|p| p.status == ExerciseStatus::Done);
            let status = if done {
                ReportStatus::Pass
            } else if steps.iter().any(|s| s.status != ReportStatus::Pending) {
                ReportStatus::Fail
            } else {
                ReportStatus::Pending
            };
            let hints_used = p.map(|p| p.hints_used).unwrap_or(0);
            totals.exercises_done += usize::from(done);
            totals.steps_total += steps.len();
            totals.steps_passed += steps
                .iter()
                .filter(|s| s.status == ReportStatus::Pass)
                .count();
            totals.hints_used += u64::from(hints_used);
            totals.failed_attempts += steps.iter().map(|s| u64::from(s.attempts)).sum::<u64>();
            ExerciseReport {
                slug: ex.slug.clone(),
                title: ex.title().to_string(),
                status,
                hints_used,
                completed_at: p.filter(|_| done).and_then(|p| p.completed_at).map(rfc3339),
                steps,
            }
        })
        .collect();
    let status = if !reports.is_empty() && reports.iter().all(|e| e.status == ReportStatus::Pass) {
        ReportStatus::Pass
    } else if reports.iter().all(|e| e.status == ReportStatus::Pending) {
        ReportStatus::Pending
    } else {
        ReportStatus::Fail
    };
    ProgressReport {
        version: REPORT_VERSION,
        workspace: workspace.display().to_string(),
        generated_at: rfc3339(now),
        status,
        exercises: reports,
        totals,
    }
}

/// Reads the progress state without changing anything: a missing file is a fresh start, an
/// unreadable one is an error (and stays where it is).
pub fn read_progress(path: &Path) -> Result<Progress> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Progress::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
    };
    let progress: Progress = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is unreadable ({e}); the report leaves it as it is. Restore it from a backup, or run \
             `workbook list`, which keeps it as {}.corrupt-TIME and starts the progress afresh",
            path.display(),
            path.file_name().and_then(|n| n.to_str()).unwrap_or("progress.json"),
        )
    })?;
    if progress.version != PROGRESS_VERSION {
        return Err(format!(
            "{} was written by another workbook version (progress format {}); this one reads {PROGRESS_VERSION}: \
             run the report with the workbook that wrote it",
            path.display(),
            progress.version
        ).into());
    }
    Ok(progress)
}

/// The human table: one row per exercise, and one per step of the exercises with any activity.
pub fn render_table(report: &ProgressReport, color: bool) -> String {
    let paint = |status: ReportStatus, text: String| -> String {
        if !color {
            return text;
        }
        let s = style(text).force_styling(true);
        match status {
            ReportStatus::Pass => s.green().to_string(),
            ReportStatus::Fail => s.red().to_string(),
            ReportStatus::Pending => s.dim().to_string(),
        }
    };
    let name_w = report
        .exercises
        .iter()
        .flat_map(|e| std::iter::once(e.slug.len()).chain(e.steps.iter().map(|s| s.id.len() + 2)))
        .chain(std::iter::once("EXERCISE / STEP".len()))
        .max()
        .unwrap_or(0);
    let time_w = "2000-01-01T00:00:00Z".len();
    let mut text = format!(
        "Progress in {} (as of {})\n\n",
        report.workspace, report.generated_at
    );
    text.push_str(&format!(
        "{:name_w$}  {:7}  {:time_w$}  {:>6}  {:>5}\n",
        "EXERCISE / STEP", "STATUS", "PASSED / COMPLETED", "FAILED", "HINTS"
    ));
    let mut hidden = 0;
    for e in &report.exercises {
        let failed: u32 = e.steps.iter().map(|s| s.attempts).sum();
        text.push_str(&format!(
            "{:name_w$}  {}  {:time_w$}  {:>6}  {:>5}  {}\n",
            e.slug,
            paint(e.status, format!("{:7}", e.status.as_str())),
            e.completed_at.as_deref().unwrap_or("-"),
            failed,
            e.hints_used,
            e.title
        ));
        if e.status == ReportStatus::Pending && e.hints_used == 0 {
            hidden += 1;
            continue;
        }
        for s in &e.steps {
            text.push_str(&format!(
                "{:name_w$}  {}  {:time_w$}  {:>6}  {:>5}  {}\n",
                format!("  {}", s.id),
                paint(s.status, format!("{:7}", s.status.as_str())),
                s.first_passed.as_deref().unwrap_or("-"),
                s.attempts,
                "",
                s.title
            ));
        }
    }
    let t = &report.totals;
    text.push_str(&format!(
        "\nTotals: {}/{} exercises done, {}/{} steps passed, {} failed attempt{}, {} hint{} used.\n",
        t.exercises_done,
        t.exercises_total,
        t.steps_passed,
        t.steps_total,
        t.failed_attempts,
        if t.failed_attempts == 1 { "" } else { "s" },
        t.hints_used,
        if t.hints_used == 1 { "" } else { "s" },
    ));
    if hidden > 0 {
        text.push_str(
            "(Steps of exercises not started yet are not listed; `workbook report --json` has them all.)\n",
        );
    }
    text
}

/// `workbook report [--json]`: exit 0 (a report, not a verdict); 2 when there is no workspace
/// or its progress cannot be read.
pub fn run(exercises: &[Exercise], explicit: Option<&Path>, as_json: bool) -> Result<i32> {
    let ws = Workspace::find(explicit)?.ok_or_else(|| {
        format!(
            "no workbook workspace here: run the report inside the learner's workspace, or give it with \
             `--workspace DIR` (a new one is made by `workbook next`, in ./{DEFAULT_DIR})"
        )
    })?;
    let progress = read_progress(&ws.progress_path())?;
    let report = build(exercises, &progress, &ws.root, now());
    if as_json {
        json(&report);
    } else {
        out(&render_table(&report, console::colors_enabled()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::progress::ExerciseProgress;

    fn exercises() -> Vec<Exercise> {
        crate::curriculum::catalog::exercises().unwrap()
    }

    #[test]
    fn fresh_progress_is_all_pending() {
        let exs = exercises();
        let r = build(&exs, &Progress::default(), Path::new("/ws"), 0);
        assert_eq!(r.version, REPORT_VERSION);
        assert_eq!(r.status, ReportStatus::Pending);
        assert_eq!(r.generated_at, "1970-01-01T00:00:00Z");
        assert_eq!(r.exercises.len(), exs.len());
        assert!(r.exercises.iter().all(|e| e.status == ReportStatus::Pending
            && e.completed_at.is_none()
            && e.steps.iter().all(|s| s.status == ReportStatus::Pending
                && s.first_passed.is_none()
                && s.attempts == 0)));
        assert_eq!(r.totals.steps_passed, 0);
        let table = render_table(&r, false);
        assert!(
            table.contains(&format!("0/{} exercises done", exs.len())),
            "{table}"
        );
        assert!(table.contains("not listed"), "{table}");
    }

    #[test]
    fn statuses_times_and_totals() {
        let exs = exercises();
        let first = &exs[0];
        let second = &exs[1];
        let mut p = Progress::default();
        let e1 = p.exercise_mut(&first.slug);
        e1.status = ExerciseStatus::Done;
        e1.completed_at = Some(1_700_000_100);
        e1.hints_used = 2;
        for s in first.steps() {
            e1.steps.insert(
                s.id.clone(),
                StepProgress {
                    first_passed: Some(1_700_000_000),
                    failed_attempts: 1,
                    last: None,
                },
            );
        }
        let e2: &mut ExerciseProgress = p.exercise_mut(&second.slug);
        e2.steps.insert(
            second.steps()[0].id.clone(),
            StepProgress {
                first_passed: None,
                failed_attempts: 3,
                last: None,
            },
        );
        // Steps and exercises the catalog no longer has are ignored.
        p.exercise_mut("99-gone").hints_used = 7;
        let r = build(&exs, &p, Path::new("/ws"), 1_700_000_200);
        assert_eq!(r.status, ReportStatus::Fail);
        let r1 = &r.exercises[0];
        assert_eq!(r1.status, ReportStatus::Pass);
        assert_eq!(r1.completed_at.as_deref(), Some("2023-11-14T22:15:00Z"));
        assert_eq!(
            r1.steps[0].first_passed.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert!(r1.steps[0].message.is_none());
        let r2 = &r.exercises[1];
        assert_eq!(r2.status, ReportStatus::Fail);
        assert_eq!(r2.steps[0].status, ReportStatus::Fail);
        assert_eq!(r2.steps[0].attempts, 3);
        assert!(r2.steps[0]
            .message
            .as_deref()
            .unwrap()
            .contains("3 gradings"));
        assert_eq!(r2.steps[1].status, ReportStatus::Pending);
        assert_eq!(r.totals.exercises_done, 1);
        assert_eq!(r.totals.steps_passed, first.steps().len());
        assert_eq!(r.totals.hints_used, 2);
        assert_eq!(r.totals.failed_attempts, first.steps().len() as u64 + 3);
        let table = render_table(&r, false);
        assert!(
            table.contains(&format!("  {}", first.steps()[0].id)),
            "{table}"
        );
        assert!(
            table.contains(&format!("1/{} exercises done", exs.len())),
            "{table}"
        );
    }

    #[test]
    fn reading_never_changes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        assert_eq!(read_progress(&path).unwrap().exercises.len(), 0);
        std::fs::write(&path, "{\"version\": 1, \"exercises\": {").unwrap();
        let err = read_progress(&path).unwrap_err();
        assert!(err.to_string().contains("leaves it as it is"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"version\": 1, \"exercises\": {"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        std::fs::write(&path, "{\"version\": 9}").unwrap();
        assert!(read_progress(&path)
            .unwrap_err()
            .to_string()
            .contains("progress format 9"));
    }
}
