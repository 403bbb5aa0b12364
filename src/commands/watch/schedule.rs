//! When gradings run: what asks for one ([`Trigger`]), and the [`Scheduler`] that runs them one
//! at a time, coalesces triggers, debounces file changes and lets daemon events settle.

use std::time::Duration;

use tokio::time::Instant;

use super::{DEBOUNCE, MAX_DEBOUNCE, MAX_SETTLE, SETTLE};

/// What asked for a re-grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    Event,
    File,
    Key,
    Poll,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Event => "event",
            TriggerKind::File => "file",
            TriggerKind::Key => "key",
            TriggerKind::Poll => "poll",
        }
    }
}

/// A request for a re-grade and when it was received (the start of its latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub at: Instant,
}

/// First and last change of a burst, which becomes one re-grade once it has been quiet for
/// `quiet`, or `max` after its first change at the latest.
#[derive(Debug, Clone, Copy)]
struct Burst {
    first: Instant,
    last: Instant,
}

impl Burst {
    fn add(burst: &mut Option<Burst>, at: Instant) {
        *burst = Some(match *burst {
            Some(b) => Burst {
                first: b.first,
                last: b.last.max(at),
            },
            None => Burst {
                first: at,
                last: at,
            },
        });
    }

    fn deadline(&self, quiet: Duration, max: Duration) -> Instant {
        (self.last + quiet).min(self.first + max)
    }
}

/// Decides when gradings run: one at a time, triggers during a run coalesced into one
/// follow-up, file changes debounced, and events that may be the learner acting on a volume
/// held back until things settle. Pure: the caller passes the time in.
#[derive(Debug, Default)]
pub struct Scheduler {
    running: bool,
    /// The earliest trigger not yet served by a run that started after it.
    pending: Option<Trigger>,
    /// The current burst of file changes.
    files: Option<Burst>,
    /// The current burst of daemon events held back to settle ([`SETTLE`]).
    settling: Option<Burst>,
}

impl Scheduler {
    /// Asks for a re-grade. Returns the trigger to grade for now when no grading runs; otherwise
    /// it is kept (merged with any other waiting one) for the follow-up run.
    pub fn request(&mut self, t: Trigger) -> Option<Trigger> {
        self.pending = Some(match self.pending {
            Some(p) if p.at <= t.at => p,
            _ => t,
        });
        self.start_if_idle()
    }

    /// A grading is started outside of [`Scheduler::request`] (the first one of an exercise).
    pub fn started(&mut self) {
        self.running = true;
    }

    /// The grading finished. Returns the follow-up to run, if triggers came in meanwhile.
    pub fn finished(&mut self) -> Option<Trigger> {
        self.running = false;
        self.start_if_idle()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Forgets waiting triggers, file changes and settling events (a new exercise starts with
    /// its own grading).
    pub fn clear(&mut self) {
        self.pending = None;
        self.files = None;
        self.settling = None;
    }

    /// A file in the exercise folder changed at `at`.
    pub fn file_changed(&mut self, at: Instant) {
        Burst::add(&mut self.files, at);
    }

    /// A daemon event at `at` that must settle before the re-grade: the learner may be about
    /// to act on a volume that grading reads through a probe naming it.
    pub fn settle(&mut self, at: Instant) {
        Burst::add(&mut self.settling, at);
    }

    /// Whether events are being held back to settle: every event joins them meanwhile.
    pub fn is_settling(&self) -> bool {
        self.settling.is_some()
    }

    /// When the current burst of file changes becomes a re-grade: [`DEBOUNCE`] after the last
    /// change, and no later than [`MAX_DEBOUNCE`] after the first.
    pub fn file_deadline(&self) -> Option<Instant> {
        self.files.map(|b| b.deadline(DEBOUNCE, MAX_DEBOUNCE))
    }

    /// When held-back events become a re-grade: [`SETTLE`] after the last, no later than
    /// [`MAX_SETTLE`] after the first.
    pub fn settle_deadline(&self) -> Option<Instant> {
        self.settling.map(|b| b.deadline(SETTLE, MAX_SETTLE))
    }

    /// The earliest of the two deadlines.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.file_deadline(), self.settle_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// At `now`: turns a burst of file changes whose deadline has passed into a request (its
    /// latency counts from the burst's first change), and likewise held-back events. Returns
    /// the trigger to grade for now, as `request` does.
    pub fn files_due(&mut self, now: Instant) -> Option<Trigger> {
        let mut started = None;
        if let Some(b) = self
            .files
            .filter(|b| b.deadline(DEBOUNCE, MAX_DEBOUNCE) <= now)
        {
            self.files = None;
            started = self.request(Trigger {
                kind: TriggerKind::File,
                at: b.first,
            });
        }
        if let Some(b) = self
            .settling
            .filter(|b| b.deadline(SETTLE, MAX_SETTLE) <= now)
        {
            self.settling = None;
            started = started.or(self.request(Trigger {
                kind: TriggerKind::Event,
                at: b.first,
            }));
        }
        started
    }

    fn start_if_idle(&mut self) -> Option<Trigger> {
        if self.running {
            return None;
        }
        let t = self.pending.take()?;
        self.running = true;
        Some(t)
    }
}
