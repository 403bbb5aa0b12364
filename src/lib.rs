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
pub mod checks;
pub mod classroom;
pub mod cli;
pub mod commands;
pub mod curriculum;
pub mod docker;
pub mod grading;
pub mod lab;
pub mod learner;
pub mod ui;
pub mod util;
