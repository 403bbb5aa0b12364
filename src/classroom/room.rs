//! The classroom as the instructor sees it: every attendee's latest verdicts per exercise, who
//! has been failing the same step for too long, and the steps the room is on. Pure: the server
//! and `workbook classroom status` feed it what the store holds, and read views out of it.
//!
//! Times: a record's `graded_at` is the attendee's clock, `received` the server's. How long an
//! attendee has been failing a step is measured on the attendee's clock between gradings, plus
//! the server's clock since the last one arrived, so a machine whose clock is off by an hour
//! is not "stuck for an hour".

use std::collections::BTreeMap;

use serde::Serialize;

use crate::classroom::record::Record;
use crate::curriculum::exercise::Exercise;
use crate::util::clock::rfc3339;

/// An exercise as the room shows it: its slug, title and steps, in catalog order.
#[derive(Debug, Clone, Serialize)]
pub struct ExerciseInfo {
    pub slug: String,
    pub title: String,
    pub steps: Vec<StepInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepInfo {
    pub id: String,
    pub title: String,
}

impl ExerciseInfo {
    pub fn of(ex: &Exercise) -> ExerciseInfo {
        ExerciseInfo {
            slug: ex.slug.clone(),
            title: ex.title().to_string(),
            steps: ex
                .steps()
                .iter()
                .map(|s| StepInfo {
                    id: s.id.clone(),
                    title: s.title.clone(),
                })
                .collect(),
        }
    }
}

/// The latest record of one exercise of one attendee, and since when its first unsettled step
/// has been the same one.
#[derive(Debug, Clone)]
struct Track {
    latest: Record,
    received: u64,
    /// The first unsettled step and the `graded_at` of the first record of the run of records
    /// in which it was the first unsettled step.
    run: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct Attendee {
    pub id: u64,
    pub name: String,
    pub joined_at: u64,
    tracks: BTreeMap<String, Track>,
    /// The highest `seq` applied.
    last_seq: u64,
    last_seen: Option<u64>,
    /// Records received (late copies too).
    records: u64,
}

impl Attendee {
    pub fn new(id: u64, name: String, joined_at: u64) -> Attendee {
        Attendee {
            id,
            name,
            joined_at,
            tracks: BTreeMap::new(),
            last_seq: 0,
            last_seen: None,
            records: 0,
        }
    }
}

/// Every attendee and what they have done.
#[derive(Debug, Clone)]
pub struct Room {
    pub exercises: Vec<ExerciseInfo>,
    attendees: BTreeMap<u64, Attendee>,
}

/// Why a record cannot be kept: the answer is a 422 with this text.
pub fn validate(exercises: &[ExerciseInfo], r: &Record) -> Result<(), String> {
    use crate::classroom::record::{MAX_ID_CHARS, MAX_STEPS};
    let Some(ex) = exercises.iter().find(|e| e.slug == r.exercise) else {
        return Err(format!(
            "record {}: this classroom has no exercise `{}` (the server serves the workbook's own \
             exercises, or the pack it was started with)",
            r.seq,
            crate::ui::safe_text::line(&clip(&r.exercise)),
        ));
    };
    if r.seq == 0 || r.seq > i64::MAX as u64 || r.graded_at > i64::MAX as u64 {
        return Err(format!(
            "record {}: records are numbered from 1, with times a workbook sends",
            r.seq
        ));
    }
    if r.steps.len() > MAX_STEPS || r.version.chars().count() > MAX_ID_CHARS {
        return Err(format!(
            "record {}: more steps or a longer version than a workbook sends",
            r.seq
        ));
    }
    for (i, s) in r.steps.iter().enumerate() {
        if !ex.steps.iter().any(|k| k.id == s.id) {
            return Err(format!(
                "record {}: exercise `{}` has no step `{}`",
                r.seq,
                ex.slug,
                crate::ui::safe_text::line(&clip(&s.id)),
            ));
        }
        if r.steps[..i].iter().any(|p| p.id == s.id) {
            return Err(format!("record {}: step `{}` is there twice", r.seq, s.id));
        }
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The first step of `r` that is not settled, in the exercise's order (a step missing from the
/// record is not settled).
fn first_unsettled<'a>(ex: &'a ExerciseInfo, r: &Record) -> Option<&'a StepInfo> {
    ex.steps.iter().find(|k| {
        !r.steps
            .iter()
            .find(|s| s.id == k.id)
            .is_some_and(|s| s.status.settled())
    })
}

/// What the dashboard shows of one attendee.
#[derive(Debug, Clone, Serialize)]
pub struct AttendeeView {
    pub id: u64,
    pub name: String,
    pub joined_at: u64,
    /// Server time of the last record received.
    pub last_seen: Option<u64>,
    pub version: Option<String>,
    /// Where the attendee is: the first exercise of their last grading that is not done.
    pub current: Option<Current>,
    /// One per exercise, in catalog order.
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub exercise: String,
    pub step: String,
    pub step_title: String,
    /// How long this step has been the first one not passing, in seconds.
    pub failing_for: u64,
    pub stuck: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellState {
    /// Never graded.
    None,
    /// Graded, some step not passing.
    Working,
    /// Every step passed (or is not available on the attendee's engine).
    Done,
}

impl CellState {
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::None => "none",
            CellState::Working => "working",
            CellState::Done => "done",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub exercise: String,
    pub state: CellState,
    pub passed: usize,
    pub total: usize,
    pub hints_used: u32,
    /// The attendee's clock, unix seconds.
    pub graded_at: Option<u64>,
    /// Every step of the exercise: `pass`, `fail`, `error`, `unavailable`, or `pending`.
    pub steps: Vec<CellStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CellStep {
    pub id: String,
    pub status: &'static str,
}

/// The short label of an exercise column: its number (`07`), else its slug.
pub fn label(slug: &str) -> &str {
    slug.split('-')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(slug)
}

/// A step some attendees are on, with how many and how many of them are stuck.
#[derive(Debug, Clone, Serialize)]
pub struct HotStep {
    pub exercise: String,
    pub step: String,
    pub step_title: String,
    pub attendees: usize,
    pub stuck: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    pub protocol: u32,
    /// Server time, unix seconds.
    pub generated_at: u64,
    pub stuck_after: u64,
    pub exercises: Vec<ExerciseInfo>,
    pub attendees: Vec<AttendeeView>,
    /// The steps the most attendees are on, most first (at most five).
    pub hot_steps: Vec<HotStep>,
    /// Per exercise (catalog order): how many attendees have done it.
    pub done: Vec<usize>,
}

impl HotStep {
    /// `04 · Mount it read-only: 5 attendees, 1 stuck`, as the dashboard and `status` say it.
    pub fn line(&self) -> String {
        format!(
            "{} · {}: {} attendee{}{}",
            label(&self.exercise),
            self.step_title,
            self.attendees,
            if self.attendees == 1 { "" } else { "s" },
            if self.stuck > 0 {
                format!(", {} stuck", self.stuck)
            } else {
                String::new()
            }
        )
    }
}

impl Room {
    pub fn new(exercises: Vec<ExerciseInfo>) -> Room {
        Room {
            exercises,
            attendees: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, a: Attendee) {
        self.attendees.insert(a.id, a);
    }

    pub fn remove(&mut self, id: u64) {
        self.attendees.remove(&id);
    }

    /// How many records attendee `id` has sent.
    pub fn records_of(&self, id: u64) -> u64 {
        self.attendees.get(&id).map_or(0, |a| a.records)
    }

    pub fn len(&self) -> usize {
        self.attendees.len()
    }

    pub fn is_empty(&self) -> bool {
        self.attendees.is_empty()
    }

    /// Applies a validated record received at `received` (server time). A record older than
    /// one applied already (a late copy) changes nothing: the store keeps it as history.
    pub fn apply(&mut self, attendee: u64, r: &Record, received: u64) {
        let Some(a) = self.attendees.get_mut(&attendee) else {
            return;
        };
        a.last_seen = Some(a.last_seen.map_or(received, |s| s.max(received)));
        a.records += 1;
        if r.seq <= a.last_seq {
            return;
        }
        a.last_seq = r.seq;
        // Coming back to an exercise after grading another one in between starts its run
        // afresh (the exercises of one `check --all` share their time: none is in between).
        let back = a.tracks.get(&r.exercise).is_some_and(|prev| {
            a.tracks.iter().any(|(slug, t)| {
                slug != &r.exercise
                    && t.latest.graded_at > prev.latest.graded_at
                    && t.latest.graded_at < r.graded_at
            })
        });
        let Some(ex) = self.exercises.iter().find(|e| e.slug == r.exercise) else {
            return;
        };
        let step = first_unsettled(ex, r).map(|s| s.id.clone());
        let previous = a.tracks.get(&r.exercise).and_then(|t| t.run.clone());
        let run = match (step, previous) {
            (None, _) => None,
            (Some(s), Some((p, since))) if p == s && !back => Some((s, since)),
            (Some(s), _) => Some((s, r.graded_at)),
        };
        a.tracks.insert(
            r.exercise.clone(),
            Track {
                latest: r.clone(),
                received,
                run,
            },
        );
    }

    /// What the dashboard shows of attendee `id` at server time `now`.
    pub fn attendee_view(&self, id: u64, now: u64, stuck_after: u64) -> Option<AttendeeView> {
        let a = self.attendees.get(&id)?;
        let cells = self
            .exercises
            .iter()
            .map(|ex| match a.tracks.get(&ex.slug) {
                None => Cell {
                    exercise: ex.slug.clone(),
                    state: CellState::None,
                    passed: 0,
                    total: ex.steps.len(),
                    hints_used: 0,
                    graded_at: None,
                    steps: ex
                        .steps
                        .iter()
                        .map(|s| CellStep {
                            id: s.id.clone(),
                            status: "pending",
                        })
                        .collect(),
                },
                Some(t) => {
                    let steps: Vec<CellStep> = ex
                        .steps
                        .iter()
                        .map(|k| CellStep {
                            id: k.id.clone(),
                            status: t
                                .latest
                                .steps
                                .iter()
                                .find(|s| s.id == k.id)
                                .map_or("pending", |s| s.status.as_str()),
                        })
                        .collect();
                    let passed = t.latest.steps.iter().filter(|s| s.status.settled()).count();
                    Cell {
                        exercise: ex.slug.clone(),
                        state: if t.run.is_none() {
                            CellState::Done
                        } else {
                            CellState::Working
                        },
                        passed,
                        total: ex.steps.len(),
                        hints_used: t.latest.hints_used,
                        graded_at: Some(t.latest.graded_at),
                        steps,
                    }
                }
            })
            .collect();
        let current = self.current(a, now, stuck_after);
        let version = a
            .tracks
            .values()
            .max_by_key(|t| t.latest.seq)
            .map(|t| t.latest.version.clone());
        Some(AttendeeView {
            id: a.id,
            name: a.name.clone(),
            joined_at: a.joined_at,
            last_seen: a.last_seen,
            version,
            current,
            cells,
        })
    }

    /// The exercise the attendee is on: of the records of their last grading (one `check`, or
    /// every exercise of a `check --all`, which share its time), the first in catalog order
    /// that is not done.
    fn current(&self, a: &Attendee, now: u64, stuck_after: u64) -> Option<Current> {
        let last = a.tracks.values().max_by_key(|t| t.latest.seq)?;
        let at = last.latest.graded_at;
        let (ex, t) = self.exercises.iter().find_map(|ex| {
            let t = a.tracks.get(&ex.slug)?;
            (t.latest.graded_at == at && t.run.is_some()).then_some((ex, t))
        })?;
        let (step, since) = t.run.as_ref()?;
        let failing_for = t
            .latest
            .graded_at
            .saturating_sub(*since)
            .saturating_add(now.saturating_sub(t.received));
        let step_title = ex
            .steps
            .iter()
            .find(|s| &s.id == step)
            .map(|s| s.title.clone())
            .unwrap_or_default();
        Some(Current {
            exercise: ex.slug.clone(),
            step: step.clone(),
            step_title,
            failing_for,
            stuck: failing_for >= stuck_after,
        })
    }

    /// The whole room at server time `now`; an attendee failing the same step for
    /// `stuck_after` seconds or more is stuck.
    pub fn view(&self, now: u64, stuck_after: u64) -> RoomView {
        let attendees: Vec<AttendeeView> = self
            .attendees
            .keys()
            .filter_map(|id| self.attendee_view(*id, now, stuck_after))
            .collect();
        let (hot_steps, done) = self.summary(now, stuck_after);
        RoomView {
            protocol: crate::classroom::record::PROTOCOL,
            generated_at: now,
            stuck_after,
            exercises: self.exercises.clone(),
            attendees,
            hot_steps,
            done,
        }
    }

    /// The steps the most attendees are on (at most five, most stuck first, then most
    /// attendees, then catalog order), and per exercise how many attendees have done it;
    /// without building every attendee's view (the server sends it with each event).
    pub fn summary(&self, now: u64, stuck_after: u64) -> (Vec<HotStep>, Vec<usize>) {
        let mut hot: BTreeMap<(usize, usize), HotStep> = BTreeMap::new();
        for c in self
            .attendees
            .values()
            .filter_map(|a| self.current(a, now, stuck_after))
        {
            let Some(ei) = self.exercises.iter().position(|e| e.slug == c.exercise) else {
                continue;
            };
            let si = self.exercises[ei]
                .steps
                .iter()
                .position(|s| s.id == c.step)
                .unwrap_or(0);
            let h = hot.entry((ei, si)).or_insert_with(|| HotStep {
                exercise: c.exercise.clone(),
                step: c.step.clone(),
                step_title: c.step_title.clone(),
                attendees: 0,
                stuck: 0,
            });
            h.attendees += 1;
            h.stuck += usize::from(c.stuck);
        }
        let mut hot_steps: Vec<HotStep> = hot.into_values().collect();
        // The sort is stable: catalog order breaks ties.
        hot_steps.sort_by_key(|h| std::cmp::Reverse((h.stuck, h.attendees)));
        hot_steps.truncate(5);
        let done = self
            .exercises
            .iter()
            .map(|ex| {
                self.attendees
                    .values()
                    .filter(|a| a.tracks.get(&ex.slug).is_some_and(|t| t.run.is_none()))
                    .count()
            })
            .collect();
        (hot_steps, done)
    }
}

/// The room as CSV: one row per attendee, exercise and step.
pub fn csv(view: &RoomView) -> String {
    let mut out =
        String::from("attendee,name,exercise,step,status,hints_used,graded_at,last_seen\n");
    for a in &view.attendees {
        for c in &a.cells {
            for s in &c.steps {
                let row = [
                    a.id.to_string(),
                    a.name.clone(),
                    c.exercise.clone(),
                    s.id.clone(),
                    s.status.to_string(),
                    c.hints_used.to_string(),
                    c.graded_at.and_then(rfc3339).unwrap_or_default(),
                    a.last_seen.and_then(rfc3339).unwrap_or_default(),
                ];
                let cells: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
        }
    }
    out
}

/// A CSV field, quoted when it must be; a text a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first) gets a `'` before it.
fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// Seconds as people say them: `45 s`, `12 min`, `2 h 05 min`.
pub fn duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::record::{StepRecord, StepStatus};

    fn exercises() -> Vec<ExerciseInfo> {
        let ex = |slug: &str, steps: &[&str]| ExerciseInfo {
            slug: slug.into(),
            title: slug.to_uppercase(),
            steps: steps
                .iter()
                .map(|s| StepInfo {
                    id: s.to_string(),
                    title: format!("{s} title"),
                })
                .collect(),
        };
        vec![ex("01-a", &["one", "two"]), ex("02-b", &["x"])]
    }

    fn rec(seq: u64, ex: &str, steps: &[(&str, StepStatus)], at: u64) -> Record {
        Record {
            seq,
            exercise: ex.into(),
            steps: steps
                .iter()
                .map(|(id, status)| StepRecord {
                    id: id.to_string(),
                    status: *status,
                })
                .collect(),
            hints_used: 1,
            version: "0.1.0".into(),
            graded_at: at,
        }
    }

    use StepStatus::{Fail, Pass, Unavailable};

    #[test]
    fn failing_the_same_step_long_enough_is_stuck() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        room.apply(
            1,
            &rec(1, "01-a", &[("one", Fail), ("two", Fail)], 1000),
            1000,
        );
        room.apply(
            1,
            &rec(2, "01-a", &[("one", Fail), ("two", Fail)], 1300),
            1300,
        );
        let v = room.attendee_view(1, 1400, 600).unwrap();
        let c = v.current.unwrap();
        assert_eq!((c.exercise.as_str(), c.step.as_str()), ("01-a", "one"));
        assert_eq!(c.failing_for, 400);
        assert!(!c.stuck);
        assert!(
            room.attendee_view(1, 1600, 600)
                .unwrap()
                .current
                .unwrap()
                .stuck
        );
        // Moving on to the next step starts a new run.
        room.apply(
            1,
            &rec(3, "01-a", &[("one", Pass), ("two", Fail)], 1650),
            1650,
        );
        let c = room.attendee_view(1, 1700, 600).unwrap().current.unwrap();
        assert_eq!(
            (c.step.as_str(), c.failing_for, c.stuck),
            ("two", 50, false)
        );
    }

    #[test]
    fn coming_back_to_an_exercise_starts_afresh_but_check_all_does_not() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        room.apply(1, &rec(1, "01-a", &[("one", Fail)], 1000), 1000);
        room.apply(1, &rec(2, "02-b", &[("x", Fail)], 2000), 2000);
        room.apply(1, &rec(3, "01-a", &[("one", Fail)], 5000), 5000);
        let c = room.attendee_view(1, 5000, 600).unwrap().current.unwrap();
        assert_eq!((c.exercise.as_str(), c.failing_for), ("01-a", 0));
        // Two `check --all`, an hour apart: the run goes on.
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        for (seq, at) in [(1, 1000), (3, 4600)] {
            room.apply(1, &rec(seq, "01-a", &[("one", Fail)], at), at);
            room.apply(1, &rec(seq + 1, "02-b", &[("x", Fail)], at), at);
        }
        let c = room.attendee_view(1, 4600, 600).unwrap().current.unwrap();
        assert_eq!(
            (c.exercise.as_str(), c.failing_for, c.stuck),
            ("01-a", 3600, true)
        );
    }

    #[test]
    fn a_skewed_clock_does_not_make_anyone_stuck() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        // The attendee's clock is three hours behind the server's.
        room.apply(1, &rec(1, "01-a", &[("one", Fail)], 100), 10_900);
        let c = room.attendee_view(1, 10_960, 600).unwrap().current.unwrap();
        assert_eq!(c.failing_for, 60);
    }

    #[test]
    fn done_cells_and_late_copies() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        room.apply(
            1,
            &rec(2, "01-a", &[("one", Pass), ("two", Unavailable)], 50),
            60,
        );
        // An older record arriving late changes nothing.
        room.apply(1, &rec(1, "01-a", &[("one", Fail), ("two", Fail)], 40), 61);
        let v = room.attendee_view(1, 70, 600).unwrap();
        assert_eq!(v.cells[0].state, CellState::Done);
        assert_eq!(v.cells[0].passed, 2);
        assert_eq!(v.cells[1].state, CellState::None);
        assert!(v.current.is_none());
        assert_eq!(v.last_seen, Some(61));
    }

    #[test]
    fn a_check_all_puts_the_attendee_on_the_first_exercise_not_done() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "Ada".into(), 0));
        room.add(Attendee::new(2, "Bob".into(), 0));
        room.apply(1, &rec(1, "01-a", &[("one", Pass), ("two", Fail)], 10), 10);
        room.apply(1, &rec(2, "02-b", &[("x", Fail)], 10), 10);
        room.apply(2, &rec(1, "01-a", &[("one", Pass), ("two", Fail)], 10), 10);
        let v = room.view(20, 600);
        assert_eq!(v.attendees[0].current.as_ref().unwrap().exercise, "01-a");
        assert_eq!(v.hot_steps.len(), 1);
        assert_eq!(
            (v.hot_steps[0].step.as_str(), v.hot_steps[0].attendees),
            ("two", 2)
        );
        assert_eq!(v.done, vec![0, 0]);
    }

    #[test]
    fn records_are_validated_against_the_exercises() {
        let ex = exercises();
        assert!(validate(&ex, &rec(1, "01-a", &[("one", Pass)], 1)).is_ok());
        assert!(validate(&ex, &rec(1, "99-z", &[], 1))
            .unwrap_err()
            .contains("no exercise"));
        assert!(validate(&ex, &rec(1, "01-a", &[("nope", Pass)], 1))
            .unwrap_err()
            .contains("no step `nope`"));
        assert!(validate(&ex, &rec(1, "01-a", &[("one", Pass), ("one", Fail)], 1)).is_err());
        assert!(validate(&ex, &rec(0, "01-a", &[], 1)).is_err());
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut room = Room::new(exercises());
        room.add(Attendee::new(1, "=HYPERLINK(\"x\"), Ada".into(), 0));
        let text = csv(&room.view(0, 600));
        let line = text.lines().nth(1).unwrap();
        assert!(
            line.starts_with("1,\"'=HYPERLINK(\"\"x\"\"), Ada\",01-a,one,pending"),
            "{line}"
        );
        assert_eq!(text.lines().count(), 1 + 3);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(720), "12 min");
        assert_eq!(duration(7500), "2 h 05 min");
    }
}
