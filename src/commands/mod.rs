//! One module per command, each owning its `run`.

pub mod dev;
pub mod doctor;
pub mod report;
pub mod watch;
