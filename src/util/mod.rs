//! Small helpers every layer may use: the clock, paths, host files read safely, signals, suggestions.

pub mod clock;
pub mod fs;
pub mod hostfile;
pub mod signals;
pub mod suggest;
