//! Grading: an exercise's needs are gathered from the daemon into a snapshot, then judged.

pub mod gather;
pub mod grade;
pub mod locality;
pub mod probe;
