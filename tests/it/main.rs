//! The integration tests, in one test binary (`cargo test --test it`): one link of bollard and
//! tokio instead of one per file. A module per area; what they share is in [`util`].
//!
//! Run one area with a filter on its module: `cargo test --test it devcheck::`. The tests of
//! the real daemon run one at a time across all modules (see [`util`]).

mod util;

mod book;
mod bundle;
mod classroom;
mod cli;
mod compose_names;
mod compose_v2;
mod devcheck;
mod doctor;
mod endpoints;
mod engine;
mod exercises;
mod faults;
mod finding;
mod guide;
mod hostile_engine;
mod hostile_exec;
mod layers;
mod packs;
mod podman;
mod properties;
mod real_engine;
mod report;
mod volume_reads;
mod watch;
