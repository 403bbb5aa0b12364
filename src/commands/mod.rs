//! One module per command, each owning its `run`, and what they share: [`context`] (the
//! workspace, the exercise, the daemon, questions), [`prepare`] (an exercise's setup and a
//! pack's exec approval), [`present`] (what they print).

pub mod bench_io;
pub mod book;
pub mod check;
pub mod classroom;
pub mod completions;
pub mod context;
pub mod dev;
pub mod doctor;
pub mod help;
pub mod hint;
pub mod init;
pub mod lesson;
pub mod list;
pub mod man;
pub mod next;
pub mod prepare;
pub mod present;
pub mod report;
pub mod reset;
pub mod setup;
pub mod solution;
pub mod verify;
pub mod watch;
