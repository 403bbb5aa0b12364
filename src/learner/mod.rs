//! The learner's state: the workspace folder and the progress in it.

pub mod progress;
pub mod state;
pub mod volume_history;
pub mod workspace;
