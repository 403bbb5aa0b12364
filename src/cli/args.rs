//! The command line's arguments (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "workbook",
    version,
    about = "A hands-on workbook for Docker volumes and data persistence, graded on your own Docker daemon."
)]
pub struct Cli {
    /// The workspace folder (default: the one you are in, else ./docker-volumes-workbook).
    #[arg(long, global = true, env = "WORKBOOK_WORKSPACE", value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Use a community exercise pack (a folder with exercises/, lessons/, solutions/) instead of
    /// the built-in workbook. Its scripts are shown and confirmed before they run.
    #[arg(long, global = true, value_name = "DIR")]
    pub pack: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a workspace: one folder per exercise with its starter files, and your progress.
    Init {
        /// Where (default ./docker-volumes-workbook).
        dir: Option<PathBuf>,
    },
    /// Build the lab images (workbook/tools, workbook/ml-training, workbook/ml-api), or save
    /// them to a file / load them from one for machines with no network.
    Setup {
        /// Do not try a registry: build from the host's static busybox.
        #[arg(long)]
        offline: bool,
        /// Rebuild even when the images are up to date.
        #[arg(long)]
        force: bool,
        /// Write the lab images into FILE (gzip; plain tar when FILE ends in .tar), for a
        /// machine with no network.
        #[arg(long, value_name = "FILE", conflicts_with = "load")]
        save: Option<PathBuf>,
        /// Load the lab images from FILE, made by `workbook setup --save FILE`; needs no network.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["force", "offline"])]
        load: Option<PathBuf>,
    },
    /// Grade the current exercise, move on when it passes, and show your next task.
    Next {
        /// For a pack: create its setup and run its exec commands without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Grade every step of an exercise (default: the current one).
    Check {
        /// Exercise: slug, number or part of the name (e.g. `02`, `bind-mounts`).
        exercise: Option<String>,
        /// Every exercise, graded concurrently in one process (no exercise setup is created).
        #[arg(long, conflicts_with = "exercise")]
        all: bool,
        /// Machine-readable verdicts.
        #[arg(long)]
        json: bool,
        /// For a pack: create its setup and run its exec commands without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// A hint for the first unfinished step.
    Hint { exercise: Option<String> },
    /// Every exercise with its status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// The whole lesson of an exercise.
    Lesson { exercise: Option<String> },
    /// Print the reference solution; `--run` runs it after asking.
    Solution {
        exercise: Option<String>,
        #[arg(long)]
        run: bool,
        /// Do not ask before running.
        #[arg(long, short)]
        yes: bool,
    },
    /// Grade the current exercise and re-grade it whenever Docker or its files change: a live
    /// checklist (keys: h hint, l list, r re-check, n next when done, q quit).
    Watch {
        /// End with exit code 0 as soon as every step passes.
        #[arg(long)]
        exit_on_pass: bool,
        /// End after N re-grades, with the last verdict's exit code (0 pass, 1 fail, 2 error).
        #[arg(long, value_name = "N")]
        max_regrades: Option<u32>,
    },
    /// For instructors and authors: prove every exercise's graders on this daemon (fails unsolved,
    /// solution and variants pass, each recorded mistake caught), then clean up.
    Verify {
        /// Exercises to verify (default: all).
        exercises: Vec<String>,
        #[arg(long)]
        json: bool,
        /// Do not ask before removing the exercises' resources.
        #[arg(long, short)]
        yes: bool,
    },
    /// Measure write and read speed of the container layer, a named volume, a bind mount and a tmpfs.
    BenchIo {
        /// Size of the file written and read back, in MiB.
        #[arg(long, default_value_t = 64)]
        size_mb: u64,
        /// Rounds per storage kind; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Machine-readable results.
        #[arg(long)]
        json: bool,
    },
    /// The learner's progress for an instructor: status, first pass, attempts and hints per step.
    Report {
        /// Machine-readable, in the versioned schema of docs/report-schema.md.
        #[arg(long)]
        json: bool,
    },
    /// Tools for exercise authors.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Diagnose this machine for the workbook: Docker endpoint, engine, registry, lab images,
    /// disk, bind mounts, Compose and leftovers, each problem with the command that fixes it.
    Doctor {
        /// Machine-readable checks.
        #[arg(long)]
        json: bool,
    },
    /// Put an exercise back to its start: lists what it removes, asks, removes, re-creates its setup.
    Reset {
        exercise: Option<String>,
        /// Every exercise back to its start (between workshop attendees).
        #[arg(long, conflicts_with = "exercise")]
        all: bool,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Lint exercise data (no daemon needed): exit 0 clean, 1 problems found, 2 DIR unreadable.
    Check {
        /// A folder of NN-slug/ exercise folders (default: the checkout's exercises/ when run
        /// inside it, else the exercises built into this binary).
        dir: Option<PathBuf>,
    },
}
