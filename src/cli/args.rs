//! The command line's arguments (clap): every argument documented; the examples of each command,
//! the exit codes and the environment variables `--help` shows are in [`help`], and an EXERCISE
//! argument ([`Exercise`]) completes to the built-in exercises' slugs ([`ExerciseArg`]).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::completions::Shell;
use crate::commands::help::{self, Exercise, ExerciseArg};

#[derive(Debug, Parser)]
#[command(
    name = "workbook",
    version,
    about = "A hands-on workbook for Docker volumes and data persistence, graded on your own Docker daemon.",
    after_help = help::WORKBOOK,
    after_long_help = help::after_long_help()
)]
pub struct Cli {
    /// The workspace folder (default: the one you are in, else ./docker-volumes-workbook).
    #[arg(long, global = true, env = "WORKBOOK_WORKSPACE", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub workspace: Option<PathBuf>,
    /// Use a community exercise pack (a folder with exercises/, lessons/, solutions/) instead of
    /// the built-in workbook. Its scripts are shown and confirmed before they run.
    #[arg(long, global = true, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub pack: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a workspace: one folder per exercise with its starter files, and your progress.
    #[command(after_help = help::INIT)]
    Init {
        /// The folder to write the workspace in (default: --workspace, else
        /// ./docker-volumes-workbook); created if missing.
        #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
    /// Build the lab images (workbook/tools, workbook/ml-training, workbook/ml-api), or save
    /// them to a file / load them from one for machines with no network.
    #[command(after_help = help::SETUP)]
    Setup {
        /// Do not try a registry: build from the host's static busybox.
        #[arg(long)]
        offline: bool,
        /// Rebuild even when the images are up to date.
        #[arg(long)]
        force: bool,
        /// Write the lab images into FILE (gzip; plain tar when FILE ends in .tar), for a
        /// machine with no network.
        #[arg(long, value_name = "FILE", conflicts_with = "load", value_hint = clap::ValueHint::FilePath)]
        save: Option<PathBuf>,
        /// Load the lab images from FILE, made by `workbook setup --save FILE`; needs no network.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["force", "offline"], value_hint = clap::ValueHint::FilePath)]
        load: Option<PathBuf>,
    },
    /// Grade the current exercise, move on when it passes, and show your next task.
    ///
    /// The first run creates the workspace (./docker-volumes-workbook, or --workspace) and the
    /// lab images, and shows the first task.
    #[command(after_help = help::NEXT)]
    Next {
        /// For a pack: create its setup and run its exec commands without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Grade every step of an exercise: the one named, else the one whose folder you are in,
    /// else the current one.
    #[command(after_help = help::CHECK)]
    Check {
        #[command(flatten)]
        ex: Exercise,
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
    /// A hint for the first step not passing yet.
    ///
    /// "Not passing" is the last verdict `check`, `next` or `watch` recorded for the step (one
    /// not available on this engine counts as done). Needs no daemon; outside a workspace it
    /// gives step 1's hint.
    #[command(after_help = help::HINT)]
    Hint {
        #[command(flatten)]
        ex: Exercise,
    },
    /// Every exercise with its status.
    #[command(after_help = help::LIST)]
    List {
        /// Machine-readable: slug, title, status, current, steps passed and total per exercise.
        #[arg(long)]
        json: bool,
    },
    /// The whole lesson of an exercise, with its tasks; needs no daemon nor workspace.
    #[command(after_help = help::LESSON)]
    Lesson {
        #[command(flatten)]
        ex: Exercise,
    },
    /// Print the reference solution; `--run` runs it after asking.
    #[command(after_help = help::SOLUTION)]
    Solution {
        #[command(flatten)]
        ex: Exercise,
        /// Run it in the exercise's folder of the workspace after showing it and asking (it
        /// creates the exercise's setup first, as for the learner).
        #[arg(long)]
        run: bool,
        /// Do not ask before running.
        #[arg(long, short)]
        yes: bool,
    },
    /// Grade the current exercise and re-grade it whenever Docker or its files change: a live
    /// checklist (keys: h hint, l list, r re-check, n next when done, q quit).
    #[command(after_help = help::WATCH)]
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
    #[command(after_help = help::VERIFY)]
    Verify {
        /// The exercises to verify, each a number, slug or word of its title (default: all).
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
        exercises: Vec<String>,
        /// Machine-readable results per exercise and phase.
        #[arg(long)]
        json: bool,
        /// Do not ask before removing the exercises' resources.
        #[arg(long, short)]
        yes: bool,
    },
    /// Measure write and read speed of the container layer, a named volume, a bind mount and a tmpfs.
    #[command(after_help = help::BENCH_IO)]
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
    #[command(after_help = help::REPORT)]
    Report {
        /// Machine-readable, in the versioned schema of docs/report-schema.md.
        #[arg(long)]
        json: bool,
    },
    /// A workshop's live view: the instructor serves a dashboard, attendees opt in with a join.
    #[command(after_help = help::CLASSROOM)]
    Classroom {
        #[command(subcommand)]
        command: crate::commands::classroom::ClassroomCommand,
    },
    /// Tools for exercise authors.
    #[command(after_help = help::DEV)]
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Diagnose this machine for the workbook: Docker endpoint, engine, registry, lab images,
    /// disk, bind mounts, Compose and leftovers, each problem with the command that fixes it.
    #[command(after_help = help::DOCTOR)]
    Doctor {
        /// Machine-readable checks.
        #[arg(long)]
        json: bool,
    },
    /// Put an exercise back to its start: lists what it removes, asks, removes, re-creates its setup.
    #[command(after_help = help::RESET)]
    Reset {
        #[command(flatten)]
        ex: Exercise,
        /// Every exercise back to its start (between workshop attendees).
        #[arg(long, conflicts_with = "exercise")]
        all: bool,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
    /// Build the lessons as a book (mdBook) with this installation's preprocessor, or serve it.
    #[command(after_help = help::BOOK)]
    Book {
        /// Serve it at http://localhost:3000 and rebuild on changes, instead of building once.
        #[arg(long)]
        serve: bool,
        /// Open it in the browser.
        #[arg(long)]
        open: bool,
    },
    /// Print a shell completion script: commands, options, and the exercises' slugs for an
    /// EXERCISE argument.
    #[command(after_help = help::COMPLETIONS)]
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Print the manual page (roff) of the workbook, or write a page per command into a folder.
    #[command(after_help = help::MAN)]
    Man {
        /// Write workbook.1 and one page per command (workbook-check.1...) into DIR instead of
        /// printing workbook.1.
        #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Lint exercise data (no daemon needed): exit 0 clean, 1 problems found, 2 DIR unreadable.
    #[command(after_help = help::DEV_CHECK)]
    Check {
        /// A folder of NN-slug/ exercise folders (default: the checkout's exercises/ when run
        /// inside it, else the exercises built into this binary).
        #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
}
