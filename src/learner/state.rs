//! The learner's state in a workspace, with one owner: the progress read (a warning when it
//! had to be moved aside), changed and written under the workspace lock, as every command that
//! writes it does (`check`, `next`, `hint`, `reset`, `solution --run`, `watch`).

use crate::util::error::Result;
use console::style;

use crate::grading::gather::Memory;
use crate::grading::grade::Report;
use crate::learner::progress::Progress;
use crate::learner::workspace::{Lock, Workspace};

/// The progress of `ws`, read without the lock (for commands that only show it). A progress
/// file that had to be moved aside is said on stderr.
pub fn load(ws: &Workspace) -> Result<Progress> {
    let (p, warning) = Progress::load(&ws.progress_path())?;
    if let Some(w) = warning {
        eprintln!("{} {w}", style("warning:").yellow().bold());
    }
    Ok(p)
}

/// The progress of a workspace, held under its lock until dropped.
#[derive(Debug)]
pub struct State<'w> {
    ws: &'w Workspace,
    _lock: Lock,
    pub progress: Progress,
}

impl<'w> State<'w> {
    /// Takes the workspace's lock (waiting for another workbook command, see
    /// [`Workspace::lock`]), then reads the progress.
    pub fn open(ws: &'w Workspace) -> Result<State<'w>> {
        let lock = ws.lock()?;
        Ok(State {
            ws,
            _lock: lock,
            progress: load(ws)?,
        })
    }

    /// [`State::open`] if the lock is free now; `None` while another command holds it.
    pub fn try_open(ws: &'w Workspace) -> Result<Option<State<'w>>> {
        let Some(lock) = ws.try_lock()? else {
            return Ok(None);
        };
        Ok(Some(State {
            ws,
            _lock: lock,
            progress: load(ws)?,
        }))
    }

    /// Takes the lock to write a new progress from the start (the one stored is not read).
    pub fn replace(ws: &'w Workspace) -> Result<State<'w>> {
        let lock = ws.lock()?;
        Ok(State {
            ws,
            _lock: lock,
            progress: Progress::default(),
        })
    }

    /// Records a grading the learner asked for (see [`Progress::record`]).
    pub fn record(&mut self, report: &Report) {
        self.progress.record(report);
    }

    /// Records a grading the learner did not ask for (see [`Progress::record_unasked`]).
    pub fn record_unasked(&mut self, report: &Report) {
        self.progress.record_unasked(report);
    }

    /// A hint shown for exercise `slug`.
    pub fn count_hint(&mut self, slug: &str) {
        self.progress.exercise_mut(slug).hints_used += 1;
    }

    /// Writes the progress (atomically, see [`Progress::save`]).
    pub fn save(&self) -> Result<()> {
        self.progress.save(&self.ws.progress_path())
    }

    /// What a grading command does with its verdicts: records each (`true`: the learner asked
    /// for it), writes the progress, and keeps the volume history the gradings gathered on the
    /// daemon at `endpoint`. The history is kept even when the progress could not be written;
    /// that error is returned.
    pub fn keep<'r>(
        &mut self,
        verdicts: impl IntoIterator<Item = (&'r Report, bool)>,
        endpoint: &str,
        memory: &Memory,
    ) -> Result<()> {
        for (report, asked) in verdicts {
            if asked {
                self.record(report);
            } else {
                self.record_unasked(report);
            }
        }
        let saved = self.save();
        self.ws.keep_history(endpoint, memory);
        saved
    }
}
