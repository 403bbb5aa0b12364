//! The learner's progress, stored by exercise slug and step id (so reordering exercises is
//! harmless) in `.workbook/progress.json`, written atomically: a temporary file in the same
//! folder, fsync, rename. A corrupt file is moved aside, never deleted.

use crate::util::error::Result;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::Status;
use crate::curriculum::exercise::Exercise;
use crate::grading::grade::Report;
use crate::util::clock::now;

pub const PROGRESS_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseStatus {
    #[default]
    Pending,
    Done,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepProgress {
    /// Unix seconds of the first grading that passed this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_passed: Option<u64>,
    /// Gradings of this step that did not pass.
    #[serde(default)]
    pub failed_attempts: u32,
    /// The verdict of the last grading that judged this step (pass, fail, unavailable; a
    /// grading that could not read the daemon leaves it): where the learner is now, which
    /// `first_passed` alone cannot say once a passed step fails again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Status>,
}

impl StepProgress {
    /// Nothing left to do here as far as the gradings recorded know: the last verdict passed or
    /// was not available on the engine; without one (a progress file written before it was
    /// kept), the step passed once.
    pub fn settled(&self) -> bool {
        self.last
            .map_or(self.first_passed.is_some(), Status::settled)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExerciseProgress {
    #[serde(default)]
    pub status: ExerciseStatus,
    #[serde(default)]
    pub steps: BTreeMap<String, StepProgress>,
    #[serde(default)]
    pub hints_used: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<u64>,
    /// The exercise's setup resources were created.
    #[serde(default)]
    pub setup_done: bool,
    /// The step `next` showed last, so the next grading can say why it is not done yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_shown: Option<String>,
    /// For a pack: the digest of the exec commands the learner approved
    /// ([`crate::curriculum::exercise::Exercise::exec_digest`]); other commands are asked about again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_approved: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    /// The exercise `next` and `check` work on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseProgress>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            version: PROGRESS_VERSION,
            current: None,
            exercises: BTreeMap::new(),
        }
    }
}

impl Progress {
    /// Reads the state. A missing file is a fresh start; an unreadable one is moved aside
    /// (named in the returned warning) and replaced by a fresh start.
    pub fn load(path: &Path) -> Result<(Progress, Option<String>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Progress::default(), None))
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(p) if p.version == PROGRESS_VERSION => Ok((p, None)),
            Ok(p) => Err(format!(
                "{} was written by another workbook version (progress format {}); this one reads {PROGRESS_VERSION}",
                path.display(),
                p.version
            ).into()),
            Err(e) => {
                let aside = PathBuf::from(format!("{}.corrupt-{}", path.display(), now()));
                std::fs::rename(path, &aside)
                    .map_err(|re| format!("{} is unreadable ({e}) and could not be moved aside: {re}", path.display()))?;
                Ok((
                    Progress::default(),
                    Some(format!(
                        "{} was unreadable ({e}); it was kept as {} and progress starts again from grading",
                        path.display(),
                        aside.display()
                    )),
                ))
            }
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        json.push('\n');
        crate::util::fs::write_atomically(path, json.as_bytes()).map_err(|e| {
            crate::util::error::Error::io(format!("cannot save progress to {}", path.display()), e)
        })
    }

    pub fn exercise(&self, slug: &str) -> Option<&ExerciseProgress> {
        self.exercises.get(slug)
    }

    pub fn exercise_mut(&mut self, slug: &str) -> &mut ExerciseProgress {
        self.exercises.entry(slug.to_string()).or_default()
    }

    pub fn is_done(&self, slug: &str) -> bool {
        self.exercise(slug)
            .is_some_and(|e| e.status == ExerciseStatus::Done)
    }

    /// The current exercise: the stored one if it still exists, else the first not done.
    pub fn current<'a>(&self, exercises: &'a [Exercise]) -> Option<&'a Exercise> {
        let slugs: Vec<&str> = exercises.iter().map(|e| e.slug.as_str()).collect();
        let slug = self.current_slug(&slugs)?;
        exercises.iter().find(|e| e.slug == slug)
    }

    /// [`Progress::current`] by slug, from the slugs alone.
    pub fn current_slug<'a, S: AsRef<str>>(&self, slugs: &'a [S]) -> Option<&'a str> {
        let slugs = || slugs.iter().map(AsRef::as_ref);
        self.current
            .as_deref()
            .and_then(|c| slugs().find(|s| *s == c))
            .or_else(|| slugs().find(|s| !self.is_done(s)))
    }

    /// Records a grading the learner asked for (`check`, `next`, watch's first grading and its
    /// `r` key): first pass time and failed attempts per step; done when all pass. A grading
    /// that could not read the daemon (any `error` step) records nothing: its verdicts are not
    /// the learner's.
    pub fn record(&mut self, report: &Report) {
        self.record_as(report, true);
    }

    /// Records a grading the learner did not ask for (`watch` re-grading on a daemon event or a
    /// file change): passes count, failures are not attempts (300 events are not 300 tries).
    pub fn record_unasked(&mut self, report: &Report) {
        self.record_as(report, false);
    }

    fn record_as(&mut self, report: &Report, attempt: bool) {
        if report.status == Status::Error {
            return;
        }
        let t = now();
        let ex = self.exercise_mut(&report.exercise);
        // Only the step the learner is on counts a failed attempt: the steps after it fail too,
        // but nobody tried them yet.
        let mut reached = true;
        for step in &report.steps {
            let sp = ex.steps.entry(step.id.clone()).or_default();
            if step.status != Status::Error {
                sp.last = Some(step.status);
            }
            match step.status {
                Status::Pass => {
                    sp.first_passed.get_or_insert(t);
                }
                Status::Fail if attempt && reached => sp.failed_attempts += 1,
                Status::Fail | Status::Error | Status::Unavailable => {}
            }
            if !step.status.settled() {
                reached = false;
            }
        }
        if report.passed() && ex.status != ExerciseStatus::Done {
            ex.status = ExerciseStatus::Done;
            ex.completed_at = Some(t);
        }
    }

    /// Back to the start for one exercise (keeps nothing of its history).
    pub fn reset(&mut self, slug: &str) {
        self.exercises.remove(slug);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_corrupt_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.json");
        let mut p = Progress {
            current: Some("01-named-volumes".into()),
            ..Progress::default()
        };
        p.exercise_mut("01-named-volumes").hints_used = 2;
        p.save(&path).unwrap();
        let (back, warn) = Progress::load(&path).unwrap();
        assert!(warn.is_none());
        assert_eq!(back.exercise("01-named-volumes").unwrap().hints_used, 2);

        std::fs::write(&path, "{\"version\": 1, \"exercises\": {").unwrap();
        let (fresh, warn) = Progress::load(&path).unwrap();
        assert!(fresh.exercises.is_empty());
        assert!(warn.unwrap().contains("was kept as"));
        let kept: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert!(kept
            .iter()
            .any(|e| e.file_name().to_string_lossy().contains("corrupt")));
    }

    fn report(statuses: &[Status]) -> Report {
        use crate::grading::grade::StepReport;
        Report {
            version: 1,
            exercise: "11-capstone".into(),
            status: Status::Fail,
            steps: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| StepReport {
                    id: format!("s{i}"),
                    title: format!("step {i}"),
                    status: *s,
                    message: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn only_the_step_the_learner_is_on_counts_an_attempt_and_only_when_asked() {
        use Status::{Fail, Pass, Unavailable};
        let mut p = Progress::default();
        let attempts = |p: &Progress| -> Vec<u32> {
            let ex = p.exercise("11-capstone").unwrap();
            (0..3)
                .map(|i| ex.steps[&format!("s{i}")].failed_attempts)
                .collect()
        };
        p.record(&report(&[Fail, Fail, Fail]));
        assert_eq!(attempts(&p), [1, 0, 0]);
        // watch's re-grades are not the learner's tries.
        for _ in 0..30 {
            p.record_unasked(&report(&[Fail, Fail, Fail]));
        }
        assert_eq!(attempts(&p), [1, 0, 0]);
        p.record(&report(&[Pass, Fail, Fail]));
        assert_eq!(attempts(&p), [1, 1, 0]);
        // A step not available on this engine is settled: the next one is where the learner is.
        p.record(&report(&[Pass, Unavailable, Fail]));
        assert_eq!(attempts(&p), [1, 1, 1]);
    }
}
