//! workbook: a hands-on workbook for Docker volumes and data persistence.
//!
//! The library owns all logic; `main.rs` is a thin shell around [`cli::main`].
//! - [`catalog`]: the exercises, lessons and solutions embedded in the binary.
//! - [`exercise`]: the versioned exercise data format (`exercise.toml`).
//! - [`checks`]: one small module per check kind, each a pure function of a [`snapshot::Snapshot`].
//! - [`snapshot`] and [`probe`]: read-only fact gathering over the Docker Engine API.
//! - [`grade`]: runs the checks of an exercise and reports a verdict per step.
//! - [`workspace`] and [`progress`]: the learner's folder and the atomic progress state.
//! - [`images`]: the lab images, built locally with no registry.
//! - [`reset`] and [`lab_setup`]: what an exercise creates and what may be removed.
//! - [`render`]: Markdown for the terminal; [`safe_text`]: untrusted text made inert for it.
//! - [`engine`] and [`transport`]: the daemon connection, every request bounded in time and size.

pub mod archive;
pub mod bench;
pub mod book;
pub mod bundle;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod devcheck;
pub mod doctor;
pub mod endpoint;
pub mod engine;
pub mod exec;
pub mod exercise;
pub mod grade;
pub mod history;
pub mod hostfile;
pub mod images;
pub mod lab_setup;
pub mod labels;
pub mod lesson;
pub mod output;
pub mod probe;
pub mod progress;
pub mod render;
pub mod report;
pub mod reset;
pub mod safe_text;
pub mod scripts;
pub mod signals;
pub mod snapshot;
pub mod suggest;
pub mod transport;
pub mod verify;
pub mod watch;
pub mod workspace;
