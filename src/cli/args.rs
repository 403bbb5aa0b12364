//! The command line's arguments (clap): every argument documented, an example or two per
//! command (`after_help`), and in `workbook --help` the exit codes and the environment variables
//! the workbook reads ([`after_long_help`]). An EXERCISE argument completes to the built-in
//! exercises' slugs ([`ExerciseArg`]).

use std::path::PathBuf;

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use clap::{Parser, Subcommand, ValueEnum};

/// What an EXERCISE argument may be (`workbook --help`, the manual).
pub const EXERCISE_HELP: &str =
    "A number (`2`, `02`), a slug (`02-bind-mounts`), or a word of the \
    exercise's name or title in any case (`tmpfs`, `TMPFS`, `permission`). Left out: the exercise \
    whose folder of the workspace you are in (or a subfolder of it), else the current one. \
    `workbook list` shows them all.";

/// The exit codes of every command (`workbook --help`, the manual).
pub const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "pass: every step passes (check, check --all, watch --max-regrades); next: the exercise \
         passed and the next task is shown (or a new workspace was started, or all are done); \
         other commands: done",
    ),
    (
        "1",
        "fail: some step fails (check); next: the current exercise is not done yet, its task is \
         shown; verify: a grader missed; doctor: problems found; dev check: problems in the \
         data; reset and solution --run: you answered no",
    ),
    (
        "2",
        "error: the daemon, the workspace, an argument or a file was not usable; nothing was \
         graded, and the message says what to run next",
    ),
];

/// Every environment variable the workbook reads (`workbook --help`, the manual);
/// `tests/it/finding.rs` checks that each one the source reads is here.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "WORKBOOK_WORKSPACE",
        "the workspace folder (as --workspace)",
    ),
    (
        "WORKBOOK_DOCKER_TIMEOUT",
        "seconds before a request to the engine is given up (default 60)",
    ),
    (
        "WORKBOOK_BUSYBOX",
        "the static busybox `setup --offline` builds the lab images from (default /bin/busybox, \
         then /usr/bin/busybox)",
    ),
    (
        "WORKBOOK_ENGINE_SEES_HOST",
        "1: the engine sees this machine's files (bind-mount steps are graded); 0: it does not; \
         unset: found out with a marker bind test",
    ),
    (
        "WORKBOOK_LEFTOVER_AGE_SECS",
        "the age in seconds from which a helper container of a killed run is removed (default 120)",
    ),
    (
        "WORKBOOK_WATCH_TIMINGS",
        "a file `watch` appends one JSON line per re-grade to",
    ),
    (
        "WORKBOOK_PACK",
        "the pack the book's preprocessor (mdbook-workbook) builds the book from",
    ),
    (
        "DOCKER_HOST",
        "the engine: unix://, tcp:// or ssh:// (as for the docker CLI)",
    ),
    (
        "DOCKER_CONTEXT",
        "the docker context to use (default: the current one)",
    ),
    (
        "DOCKER_CONFIG",
        "the docker CLI's configuration folder, with its contexts (default ~/.docker)",
    ),
    (
        "DOCKER_TLS_VERIFY",
        "any value: TLS, with the server's certificate verified",
    ),
    ("DOCKER_TLS", "any value: TLS without verification"),
    (
        "DOCKER_CERT_PATH",
        "the folder of ca.pem, cert.pem and key.pem for TLS",
    ),
    (
        "XDG_RUNTIME_DIR",
        "where the rootless Docker socket is looked for",
    ),
    (
        "HOME",
        "where ~/.docker (contexts, Docker Desktop's socket) is looked for",
    ),
    (
        "COMPOSE_PROJECT_NAME",
        "the Compose project your volumes are prefixed with (also read from the exercise's .env)",
    ),
    (
        "PAGER",
        "the pager of long lessons (default `less -R -F -X`; empty: none)",
    ),
    ("NO_PAGER", "any value: never page"),
    (
        "COLUMNS",
        "the width lessons and tables are laid out for when the output is not a terminal \
         (default 100; a terminal's own width wins)",
    ),
    (
        "NO_COLOR",
        "any value: no colour (CLICOLOR=0 too; CLICOLOR_FORCE=1 forces colour)",
    ),
];

/// What `workbook --help` says after the options: what EXERCISE may be, the exit codes and the
/// environment variables, wrapped at 80 columns.
pub fn after_long_help() -> String {
    let wrap = |text: &str, first: &str, rest: &str| {
        let options = textwrap::Options::new(80)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .break_words(false)
            .initial_indent(first)
            .subsequent_indent(rest);
        textwrap::fill(text, options)
    };
    let mut out = String::from(
        "Start: `workbook next` creates ./docker-volumes-workbook, builds the lab images and shows\n\
         your first task; `cd` into the exercise's folder and work there.\n\n\
         EXERCISE (check, hint, lesson, solution, reset, verify):\n",
    );
    out.push_str(&wrap(EXERCISE_HELP, "  ", "  "));
    out.push_str("\n\nExit codes:\n");
    for (code, what) in EXIT_CODES {
        out.push_str(&wrap(what, &format!("  {code}  "), "     "));
        out.push('\n');
    }
    out.push_str("\nEnvironment:\n");
    for (name, what) in ENVIRONMENT {
        let first = format!("  {name:<27}");
        let first = if first.len() > 29 {
            format!("  {name} ")
        } else {
            first
        };
        out.push_str(&wrap(what, &first, &" ".repeat(29)));
        out.push('\n');
    }
    out.push_str(
        "\nMore: `workbook help COMMAND`, `workbook man | man -l -`, `workbook completions bash`.",
    );
    out
}

/// An EXERCISE argument: any text (it is resolved against the catalog in use, a pack's too), with
/// the built-in exercises' slugs as its possible values for shell completions (not checked, and
/// not listed in `--help`, which says what may be given).
#[derive(Clone, Copy, Debug)]
pub struct ExerciseArg;

impl TypedValueParser for ExerciseArg {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let cat = crate::curriculum::catalog::Catalog::embedded().ok()?;
        let values: Vec<PossibleValue> = cat
            .slugs()
            .iter()
            .zip(cat.titles())
            .map(|(slug, title)| PossibleValue::new(slug.clone()).help(title))
            .collect();
        Some(Box::new(values.into_iter()))
    }
}

/// The shells `workbook completions` writes a script for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Parser)]
#[command(
    name = "workbook",
    version,
    about = "A hands-on workbook for Docker volumes and data persistence, graded on your own Docker daemon.",
    after_help = "Examples:\n  workbook next           # start, or grade and move on\n  workbook check 02       # grade exercise 02\n  workbook hint           # a hint for the step you are on\n\nExit codes: 0 pass, 1 fail, 2 error. `workbook --help` shows more: EXERCISE, exit codes, environment.",
    after_long_help = after_long_help()
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
    #[command(
        after_help = "Examples:\n  workbook init                 # ./docker-volumes-workbook\n  workbook init ~/volumes-lab   # anywhere; then `cd ~/volumes-lab/01-named-volumes`\n\nNever overwrites a file you changed. Exit codes: 0 written, 2 error."
    )]
    Init {
        /// The folder to write the workspace in (default: --workspace, else
        /// ./docker-volumes-workbook); created if missing.
        #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
    /// Build the lab images (workbook/tools, workbook/ml-training, workbook/ml-api), or save
    /// them to a file / load them from one for machines with no network.
    #[command(
        after_help = "Examples:\n  workbook setup                      # pulls busybox, else uses the host's static one\n  workbook setup --offline            # from WORKBOOK_BUSYBOX or /bin/busybox\n  workbook setup --save lab.tar.gz    # then on the other machine: workbook setup --load lab.tar.gz\n\nExit codes: 0 done, 2 error."
    )]
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
    #[command(
        after_help = "Examples:\n  workbook next            # grade, and show what to do next\n  workbook next --yes      # a pack's setup and exec commands without asking\n\nExit codes: 0 the exercise passes and the next task is shown (or the workspace was just\ncreated, or every exercise is done); 1 the current exercise is not done yet: its task is\nshown, with why when you were shown it before; 2 error (nothing graded)."
    )]
    Next {
        /// For a pack: create its setup and run its exec commands without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Grade every step of an exercise: the one named, else the one whose folder you are in,
    /// else the current one.
    #[command(
        after_help = "Examples:\n  workbook check              # in 02-bind-mounts/: grades exercise 02\n  workbook check tmpfs        # by a word of its title, any case\n  workbook check --all --json\n\nExit codes: 0 every step passes, 1 some step fails, 2 error (e.g. no daemon: nothing graded)."
    )]
    Check {
        /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
        /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
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
    /// A hint for the first step not passing yet.
    ///
    /// "Not passing" is the last verdict `check`, `next` or `watch` recorded for the step (one
    /// not available on this engine counts as done). Needs no daemon; outside a workspace it
    /// gives step 1's hint.
    #[command(
        after_help = "Examples:\n  workbook hint               # the exercise whose folder you are in, else the current one\n  workbook hint permissions   # exercise 09\n\nExit codes: 0 shown, 2 error (e.g. no such exercise)."
    )]
    Hint {
        /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
        /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
        exercise: Option<String>,
    },
    /// Every exercise with its status.
    #[command(
        after_help = "Examples:\n  workbook list\n  workbook list --json | jq '.exercises[] | select(.status == \"done\")'\n\nExit codes: 0 shown, 2 error."
    )]
    List {
        /// Machine-readable: slug, title, status, current, steps passed and total per exercise.
        #[arg(long)]
        json: bool,
    },
    /// The whole lesson of an exercise, with its tasks; needs no daemon nor workspace.
    #[command(
        after_help = "Examples:\n  workbook lesson             # the exercise whose folder you are in, else the current one\n  workbook lesson 03\n  NO_PAGER=1 workbook lesson backup\n\nExit codes: 0 shown, 2 error (e.g. no such exercise)."
    )]
    Lesson {
        /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
        /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
        exercise: Option<String>,
    },
    /// Print the reference solution; `--run` runs it after asking.
    #[command(
        after_help = "Examples:\n  workbook solution 01\n  workbook solution --run      # in the exercise's folder: shows it, asks, runs it there\n\nExit codes: 0 shown (or run), 1 you answered no, 2 error (or the script failed)."
    )]
    Solution {
        /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
        /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
        exercise: Option<String>,
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
    #[command(
        after_help = "Examples:\n  workbook watch                     # in a second terminal beside your docker commands\n  workbook watch --exit-on-pass      # ends with 0 once every step passes\n\nExit codes: 0 you quit (q, n) or every step passes; with --max-regrades the last verdict's\n(0 pass, 1 fail); 2 error."
    )]
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
    #[command(
        after_help = "Examples:\n  workbook verify               # every exercise, about two minutes\n  workbook verify 02 tmpfs --yes\n\nIt removes the resources the exercises declare (ml-data, trainer...), so it lists them and\nasks first. Exit codes: 0 every grader proven, 1 a grader missed or something was left\nbehind, 2 error."
    )]
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
    #[command(
        after_help = "Examples:\n  workbook bench-io\n  workbook bench-io --size-mb 256 --rounds 5 --json\n\nExit codes: 0 measured, 2 error."
    )]
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
    #[command(
        after_help = "Examples:\n  workbook report\n  workbook report --json > progress-report.json\n\nExit codes: 0 shown, 2 error."
    )]
    Report {
        /// Machine-readable, in the versioned schema of docs/report-schema.md.
        #[arg(long)]
        json: bool,
    },
    /// Tools for exercise authors.
    #[command(
        after_help = "Examples:\n  workbook dev check\n  workbook --pack ./my-pack dev check"
    )]
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Diagnose this machine for the workbook: Docker endpoint, engine, registry, lab images,
    /// disk, bind mounts, Compose and leftovers, each problem with the command that fixes it.
    #[command(
        after_help = "Examples:\n  workbook doctor\n  DOCKER_HOST=ssh://me@lab-host workbook doctor --json\n\nExit codes: 0 all good, 1 problems found (each with its fix), 2 the engine cannot be reached."
    )]
    Doctor {
        /// Machine-readable checks.
        #[arg(long)]
        json: bool,
    },
    /// Put an exercise back to its start: lists what it removes, asks, removes, re-creates its setup.
    #[command(
        after_help = "Examples:\n  workbook reset 07           # lists what it removes, then asks\n  workbook reset --all --yes  # between workshop attendees\n\nExit codes: 0 reset, 1 you answered no (nothing changed), 2 error."
    )]
    Reset {
        /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
        /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
        #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
        exercise: Option<String>,
        /// Every exercise back to its start (between workshop attendees).
        #[arg(long, conflicts_with = "exercise")]
        all: bool,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
    /// Print a shell completion script: commands, options, and the exercises' slugs for an
    /// EXERCISE argument.
    #[command(
        after_help = "Examples:\n  workbook completions bash > ~/.local/share/bash-completion/completions/workbook\n  workbook completions zsh > ~/.zfunc/_workbook    # with fpath+=~/.zfunc before compinit\n  workbook completions fish > ~/.config/fish/completions/workbook.fish\n  workbook completions powershell >> $PROFILE\n\nThe script is made for this binary: write it again after an upgrade. Exit codes: 0 written, 2 error."
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Print the manual page (roff) of the workbook, or write a page per command into a folder.
    #[command(
        after_help = "Examples:\n  workbook man | man -l -\n  workbook man --dir ~/.local/share/man/man1    # workbook.1, workbook-check.1...; then `man workbook-check`\n\nExit codes: 0 written, 2 error."
    )]
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
    #[command(
        after_help = "Examples:\n  workbook dev check                 # the checkout's exercises/, else the built-in ones\n  workbook dev check ./my-pack/exercises"
    )]
    Check {
        /// A folder of NN-slug/ exercise folders (default: the checkout's exercises/ when run
        /// inside it, else the exercises built into this binary).
        #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        dir: Option<PathBuf>,
    },
}
