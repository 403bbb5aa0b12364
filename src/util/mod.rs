//! Small helpers every layer may use: the error type, the clock, paths, host files read safely,
//! signals, suggestions.

pub mod clock;
pub mod error;
pub mod fs;
pub mod hostfile;
pub mod signals;
pub mod suggest;
