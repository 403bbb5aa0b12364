//! Each exercise's lab on the daemon: setup, reset, verify, scripts, the bench workload.

pub mod bench;
pub mod reset;
pub mod scripts;
pub mod setup;
pub mod verify;
