//! What `--help` and the manual say beyond the arguments (src/cli/args.rs): an example or two
//! per command with its exit codes, what EXERCISE may be, every exit code and every environment
//! variable the workbook reads; and the EXERCISE argument's value parser, whose possible values
//! (the built-in slugs) shell completions offer.

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};

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
        "WORKBOOK_POSTGRES",
        "the `bin` folder of the PostgreSQL `setup` assembles workbook/postgres from when no \
         registry answers (default: the newest /usr/lib/postgresql/N/bin)",
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

/// The EXERCISE argument of `check`, `hint`, `lesson`, `solution` and `reset`.
#[derive(Debug, clap::Args)]
pub struct Exercise {
    /// The exercise: a number (`02`), a slug (`02-bind-mounts`) or a word of its title, any
    /// case (`tmpfs`); default: the exercise whose folder you are in, else the current one.
    #[arg(value_name = "EXERCISE", value_parser = ExerciseArg, hide_possible_values = true)]
    pub exercise: Option<String>,
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

// ---------------------------------------------------------------- examples, per command

pub const WORKBOOK: &str = "Examples:\n  workbook next           # start, or grade and move on\n  workbook check 02       # grade exercise 02\n  workbook hint           # a hint for the step you are on\n\nExit codes: 0 pass, 1 fail, 2 error. `workbook --help` shows more: EXERCISE, exit codes, environment.";

pub const INIT: &str = "Examples:\n  workbook init                 # ./docker-volumes-workbook\n  workbook init ~/volumes-lab   # anywhere; then `cd ~/volumes-lab/01-named-volumes`\n\nNever overwrites a file you changed. Exit codes: 0 written, 2 error.";

pub const SETUP: &str = "Examples:\n  workbook setup                      # pulls busybox, else uses the host's static one\n  workbook setup --offline            # from WORKBOOK_BUSYBOX or /bin/busybox\n  workbook setup --save lab.tar.gz    # then on the other machine: workbook setup --load lab.tar.gz\n\nExit codes: 0 done, 1 workbook/postgres (lesson 12) could not be made (the others are built), 2 error.";

pub const NEXT: &str = "Examples:\n  workbook next            # grade, and show what to do next\n  workbook next --yes      # a pack's setup and exec commands without asking\n\nExit codes: 0 the exercise passes and the next task is shown (or the workspace was just\ncreated, or every exercise is done); 1 the current exercise is not done yet: its task is\nshown, with why when you were shown it before; 2 error (nothing graded).";

pub const CHECK: &str = "Examples:\n  workbook check              # in 02-bind-mounts/: grades exercise 02\n  workbook check tmpfs        # by a word of its title, any case\n  workbook check --all --json\n\nExit codes: 0 every step passes, 1 some step fails, 2 error (e.g. no daemon: nothing graded).";

pub const HINT: &str = "Examples:\n  workbook hint               # the exercise whose folder you are in, else the current one\n  workbook hint permissions   # exercise 09\n\nExit codes: 0 shown, 2 error (e.g. no such exercise).";

pub const LIST: &str = "Examples:\n  workbook list\n  workbook list --json | jq '.exercises[] | select(.status == \"done\")'\n\nExit codes: 0 shown, 2 error.";

pub const LESSON: &str = "Examples:\n  workbook lesson             # the exercise whose folder you are in, else the current one\n  workbook lesson 03\n  NO_PAGER=1 workbook lesson backup\n\nExit codes: 0 shown, 2 error (e.g. no such exercise).";

pub const SOLUTION: &str = "Examples:\n  workbook solution 01\n  workbook solution --run      # in the exercise's folder: shows it, asks, runs it there\n\nExit codes: 0 shown (or run), 1 you answered no, 2 error (or the script failed).";

pub const WATCH: &str = "Examples:\n  workbook watch                     # in a second terminal beside your docker commands\n  workbook watch --exit-on-pass      # ends with 0 once every step passes\n\nExit codes: 0 you quit (q, n) or every step passes; with --max-regrades the last verdict's\n(0 pass, 1 fail); 2 error.";

pub const VERIFY: &str = "Examples:\n  workbook verify               # every exercise, about two minutes\n  workbook verify 02 tmpfs --yes\n\nIt removes the resources the exercises declare (ml-data, trainer...), so it lists them and\nasks first. Exit codes: 0 every grader proven, 1 a grader missed or something was left\nbehind, 2 error.";

pub const BENCH_IO: &str = "Examples:\n  workbook bench-io\n  workbook bench-io --size-mb 256 --rounds 5 --json\n\nExit codes: 0 measured, 2 error.";

pub const REPORT: &str = "Examples:\n  workbook report\n  workbook report --json > progress-report.json\n\nExit codes: 0 shown, 2 error.";

pub const DEV: &str = "Examples:\n  workbook dev check\n  workbook --pack ./my-pack dev check";

pub const DOCTOR: &str = "Examples:\n  workbook doctor\n  DOCKER_HOST=ssh://me@lab-host workbook doctor --json\n\nExit codes: 0 all good, 1 problems found (each with its fix), 2 the engine cannot be reached.";

pub const RESET: &str = "Examples:\n  workbook reset 07           # lists what it removes, then asks\n  workbook reset --all --yes  # between workshop attendees\n\nExit codes: 0 reset, 1 you answered no (nothing changed), 2 error.";

pub const COMPLETIONS: &str = "Examples:\n  workbook completions bash > ~/.local/share/bash-completion/completions/workbook\n  workbook completions zsh > ~/.zfunc/_workbook    # with fpath+=~/.zfunc before compinit\n  workbook completions fish > ~/.config/fish/completions/workbook.fish\n  workbook completions powershell >> $PROFILE\n\nThe script is made for this binary: write it again after an upgrade. Exit codes: 0 written, 2 error.";

pub const BOOK: &str = "Examples:\n  workbook book               # target/book/index.html\n  workbook book --serve --open\n\nRun it in the workbook's checkout (the folder with book.toml). It needs mdBook 0.5 (`cargo install mdbook --locked --version 0.5.4`). Exit codes: 0 built, 2 error.";

pub const MAN: &str = "Examples:\n  workbook man | man -l -\n  workbook man --dir ~/.local/share/man/man1    # workbook.1, workbook-check.1...; then `man workbook-check`\n\nExit codes: 0 written, 2 error.";

pub const DEV_CHECK: &str = "Examples:\n  workbook dev check                 # the checkout's exercises/, else the built-in ones\n  workbook dev check ./my-pack/exercises";

pub const CLASSROOM: &str = "Examples:\n  workbook classroom serve                         # instructor: prints the join command and the dashboard\n  workbook classroom join http://10.0.0.5:7300 K7QF-M2 --name \"Ada L.\"   # attendee\n  workbook classroom status                        # instructor, in the terminal\n\nNothing is ever sent before a join; a record holds the exercise, each step's id and verdict, the hints used, the workbook's version and the time.";

pub const CLASSROOM_SERVE: &str = "Examples:\n  workbook classroom serve\n  workbook classroom serve --listen 0.0.0.0:8080 --data ~/workshops/dec.sqlite\n  workbook classroom serve --new-code     # the old code no longer lets anyone join\n\nIt prints the attendees' join command and the dashboard's address (with its key). Exit codes: 2 when it cannot listen or read its data file; Ctrl-C ends it.";

pub const CLASSROOM_STATUS: &str = "Examples:\n  workbook classroom status\n  workbook classroom status --data ~/workshops/dec.sqlite --stuck-after 5\n  workbook classroom status --json\n\nIt reads the data file, also while the server runs. Exit codes: 0 shown, 2 no such data file.";

pub const CLASSROOM_JOIN: &str = "Examples:\n  workbook classroom join http://10.0.0.5:7300 K7QF-M2 --name \"Ada L.\"\n\nIt shows exactly what each grading will send and asks first (--yes: do not ask). When the network is down, records wait in the workspace and go out later, in order (`workbook classroom sync` sends them now). Exit codes: 0 joined, 1 you answered no, 2 error (a wrong code, nothing answering at URL).";

pub const CLASSROOM_LEAVE: &str = "Examples:\n  workbook classroom leave\n\nThe workspace forgets the enrolment (and any records not sent yet); the server, when it answers, deletes you and your records. Exit codes: 0 left (or had not joined), 2 error.";

pub const CLASSROOM_SYNC: &str = "Examples:\n  workbook classroom sync\n\nRecords also go out with the next grading; this sends them now, in order. Exit codes: 0 none wait, 1 some still wait (the server did not answer), 2 not joined.";
