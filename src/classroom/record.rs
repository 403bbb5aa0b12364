//! The wire format both sides share: what an enrolled workspace sends after a grading (a
//! [`Record`]), how it joins, and what the server answers.
//!
//! A record holds the exercise's slug, each step's id and verdict, the hints used, the
//! workbook's version and when it was graded. Never a file's content, a path, a container or
//! volume name, a verdict's message, or anything else read from the daemon: the type has no
//! field that could carry one, and the server refuses unknown fields.

use serde::{Deserialize, Serialize};

use crate::checks::Status;
use crate::grading::grade::Report;

/// The protocol's version, in every join answer and room view. The server refuses fields it does
/// not know, so a record with a new field is a new protocol version.
pub const PROTOCOL: u32 = 1;
/// At most this many characters in an attendee's name.
pub const MAX_NAME_CHARS: usize = 60;
/// At most this many records in one post.
pub const MAX_BATCH: usize = 50;
/// At most this many steps in one record (the format allows fewer per exercise).
pub const MAX_STEPS: usize = 64;
/// The longest slug, step id or version string accepted.
pub const MAX_ID_CHARS: usize = 80;

/// A step's verdict as sent: the grading's status, nothing of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Pass,
    Fail,
    /// The grading could not read what the step needs (the daemon failed).
    Error,
    /// The engine cannot do what the step asks: nothing left to do, like a pass.
    Unavailable,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pass => "pass",
            StepStatus::Fail => "fail",
            StepStatus::Error => "error",
            StepStatus::Unavailable => "unavailable",
        }
    }

    /// Nothing left to do for the attendee.
    pub fn settled(self) -> bool {
        matches!(self, StepStatus::Pass | StepStatus::Unavailable)
    }
}

impl From<Status> for StepStatus {
    fn from(s: Status) -> StepStatus {
        match s {
            Status::Pass => StepStatus::Pass,
            Status::Fail => StepStatus::Fail,
            Status::Error => StepStatus::Error,
            Status::Unavailable => StepStatus::Unavailable,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub id: String,
    pub status: StepStatus,
}

/// One grading of one exercise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Numbers the records of one enrolment, from 1: the server keeps each once (a record sent
    /// twice is a duplicate, not a second grading) and orders them by it.
    pub seq: u64,
    pub exercise: String,
    pub steps: Vec<StepRecord>,
    pub hints_used: u32,
    /// The workbook's version that graded.
    pub version: String,
    /// Unix seconds, the attendee's clock.
    pub graded_at: u64,
}

impl Record {
    /// The record of `report` (numbered `seq`, graded at `now`) with `hints_used` hints.
    pub fn of(seq: u64, report: &Report, hints_used: u32, now: u64) -> Record {
        Record {
            seq,
            exercise: report.exercise.clone(),
            steps: report
                .steps
                .iter()
                .map(|s| StepRecord {
                    id: s.id.clone(),
                    status: s.status.into(),
                })
                .collect(),
            hints_used,
            version: env!("CARGO_PKG_VERSION").to_string(),
            graded_at: now,
        }
    }

    /// The same verdicts as `other` (exercise, steps, hints), whatever their numbers and times.
    pub fn same_verdicts(&self, other: &Record) -> bool {
        self.exercise == other.exercise
            && self.steps == other.steps
            && self.hints_used == other.hints_used
    }
}

/// `POST /api/records`: a workspace's queued records, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub records: Vec<Record>,
}

/// The answer to a batch: each record of it is kept now (`stored`), was already
/// (`duplicates`), or can never be (`rejected`, with why).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BatchAnswer {
    pub stored: Vec<u64>,
    pub duplicates: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejected {
    pub seq: u64,
    pub error: String,
}

/// `POST /api/join`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub code: String,
    pub name: String,
    pub version: String,
}

/// The answer to a join: the token that every later post carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinAnswer {
    pub protocol: u32,
    pub attendee: u64,
    /// The name as the server keeps it (cleaned, see [`clean_name`]).
    pub name: String,
    pub token: String,
}

/// Every refusal: `{"error": "..."}` with a 4xx status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorAnswer {
    pub error: String,
}

/// An attendee's name as it is kept and shown: surrounding and repeated white space folded,
/// control characters dropped, 1 to [`MAX_NAME_CHARS`] characters.
pub fn clean_name(raw: &str) -> Result<String, String> {
    let words: Vec<String> = raw
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    let name = words.join(" ");
    let n = name.chars().count();
    if n == 0 {
        return Err("the name is empty: give the name the instructor will know you by".into());
    }
    if n > MAX_NAME_CHARS {
        return Err(format!(
            "the name has {n} characters; at most {MAX_NAME_CHARS} are kept: use a shorter one"
        ));
    }
    Ok(name)
}

/// A join code as compared: upper case, without the dash or spaces (`k7qf m2` is `K7QFM2`).
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_and_bounded() {
        assert_eq!(clean_name("  Ada \t Lovelace\n").unwrap(), "Ada Lovelace");
        assert_eq!(clean_name("a\u{1b}[31mb").unwrap(), "a[31mb");
        assert!(clean_name(" \u{7} ").is_err());
        assert!(clean_name(&"x".repeat(61)).is_err());
        assert_eq!(clean_name(&"é".repeat(60)).unwrap().chars().count(), 60);
    }

    #[test]
    fn codes_compare_without_case_or_dash() {
        assert_eq!(normalize_code("k7qf-m2"), "K7QFM2");
        assert_eq!(normalize_code(" K7QF M2 "), "K7QFM2");
    }

    #[test]
    fn records_refuse_unknown_fields() {
        let bad = r#"{"seq":1,"exercise":"a","steps":[],"hints_used":0,"version":"1","graded_at":1,"path":"/etc"}"#;
        assert!(serde_json::from_str::<Record>(bad).is_err());
        let good = r#"{"seq":1,"exercise":"a","steps":[{"id":"s","status":"pass"}],"hints_used":0,"version":"1","graded_at":1}"#;
        let r: Record = serde_json::from_str(good).unwrap();
        assert_eq!(r.steps[0].status, StepStatus::Pass);
    }
}
