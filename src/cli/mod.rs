//! The command line: argument parsing and one function per command. Each command returns an
//! exit code (0 pass, 1 fail, 2 error) or an error message for people.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use console::style;
use futures_util::FutureExt;

use crate::checks::Status;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::curriculum::lesson::Lesson;
use crate::docker::engine::{self, Engine};
use crate::docker::images::{self, SetupOptions};
use crate::grading::grade::{self, Report};
use crate::lab::reset;
use crate::lab::setup as lab_setup;
use crate::learner::progress::{ExerciseStatus, Progress};
use crate::learner::workspace::{Workspace, DEFAULT_DIR};
use crate::ui::output::{json, out, outln};
use crate::ui::render::{render, Style};

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

/// Runs the command line and returns the exit code.
///
/// SIGINT, SIGTERM and SIGHUP end any command (see [`crate::util::signals`]): its future is dropped,
/// this process's helper containers are removed, and it exits 2; a command whose thread is
/// blocked is ended by the signal thread. Judging runs off this thread ([`grade::grade`]), and
/// the runtime is shut down without waiting for blocking work that never ends (a named pipe
/// being read).
/// What a signal removes: this process's helper containers and bench volumes.
async fn remove_all_helpers() {
    if let Ok(engine) = crate::docker::engine::connect().await {
        crate::docker::helpers::remove_live(&engine.docker).await;
        crate::lab::bench::remove_live(&engine.docker).await;
    }
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    if let Err(e) = crate::util::signals::install(|| Box::pin(remove_all_helpers())) {
        crate::util::signals::report(&e);
        return 2;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::util::signals::report(&format!("cannot start: {e}"));
            return 2;
        }
    };
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(cli) => r,
            signal = crate::util::signals::shutdown_beside_command() => {
                // The command's future is dropped by now; leave no helper container behind.
                crate::util::signals::remove_helpers().await;
                Err(signal.message().to_string())
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(10));
    match outcome {
        Ok(code) => code,
        Err(message) => {
            // Errors quote files, names and daemons: shown inert, whatever they hold.
            crate::util::signals::report(&crate::ui::safe_text::text(&message));
            2
        }
    }
}

type CmdResult = Result<i32, String>;

pub async fn run(cli: Cli) -> CmdResult {
    // Linting comes before loading: a pack that does not load can still be linted.
    if let Command::Dev {
        command: DevCommand::Check { dir },
    } = &cli.command
    {
        let pack_exercises = cli.pack.as_ref().map(|p| p.join("exercises"));
        return crate::commands::dev::run(dir.as_deref().or(pack_exercises.as_deref()));
    }
    let catalog = match &cli.pack {
        Some(dir) => Catalog::pack(dir)?,
        None => Catalog::embedded()?,
    };
    // A pack keeps its own workspace (progress is stored by slug, and slugs may repeat).
    let pack_ws = match (&cli.pack, &cli.workspace) {
        (Some(dir), None) => {
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
            Some(PathBuf::from(format!(
                "{}-workbook",
                name.unwrap_or_else(|| "pack".into())
            )))
        }
        _ => None,
    };
    let ws_path = cli.workspace.clone().or(pack_ws);
    let ws = ws_path.as_deref();
    let cat = &catalog;
    match cli.command {
        Command::Init { dir } => init(cat, dir.or(ws_path.clone())),
        Command::Setup {
            offline,
            force,
            save,
            load,
        } => match (save, load) {
            (Some(file), _) => setup_save(offline, force, &file).await,
            (None, Some(file)) => setup_load(&file).await,
            (None, None) => setup(offline, force).await,
        },
        Command::Next { yes } => next(cat, ws, yes).await,
        Command::Check {
            all: true,
            json,
            yes,
            ..
        } => check_all(cat, ws, json, yes).await,
        Command::Check {
            exercise,
            json,
            yes,
            ..
        } => check(cat, ws, exercise.as_deref(), json, yes).await,
        Command::Hint { exercise } => hint(cat, ws, exercise.as_deref()),
        Command::List { json } => list(cat, ws, json),
        Command::Lesson { exercise } => lesson(cat, ws, exercise.as_deref()),
        Command::Solution { exercise, run, yes } => {
            solution(cat, ws, exercise.as_deref(), run, yes).await
        }
        Command::BenchIo {
            size_mb,
            rounds,
            json: as_json,
        } => bench_io(size_mb, rounds, as_json).await,
        Command::Report { json: as_json } => {
            crate::commands::report::run(cat.exercises()?, ws, as_json)
        }
        Command::Dev {
            command: DevCommand::Check { dir },
        } => crate::commands::dev::run(dir.as_deref()),
        Command::Watch {
            exit_on_pass,
            max_regrades,
        } => {
            let ws = require_workspace(ws)?;
            let engine = connect().await?;
            let opts = crate::commands::watch::WatchOptions {
                exit_on_pass,
                max_regrades,
            };
            crate::commands::watch::run(cat, &ws, &engine, opts).await
        }
        Command::Doctor { json: as_json } => crate::commands::doctor::run(ws, as_json).await,
        Command::Reset { all: true, yes, .. } => reset_all(cat, ws, yes).await,
        Command::Reset { exercise, yes, .. } => reset_cmd(cat, ws, exercise.as_deref(), yes).await,
        Command::Verify {
            exercises,
            json: as_json,
            yes,
        } => verify(cat, &exercises, as_json, yes).await,
    }
}

// ---------------------------------------------------------------- helpers

/// Finds an exercise by slug, number (`2`, `02`) or part of its name.
pub fn find_exercise<'a>(exercises: &'a [Exercise], wanted: &str) -> Result<&'a Exercise, String> {
    let slugs: Vec<String> = exercises.iter().map(|e| e.slug.clone()).collect();
    let slug = crate::curriculum::catalog::find_slug(&slugs, wanted)?;
    exercises
        .iter()
        .find(|e| e.slug == slug)
        .ok_or_else(|| format!("no exercise `{wanted}`"))
}

fn require_workspace(explicit: Option<&Path>) -> Result<Workspace, String> {
    Workspace::find(explicit)?.ok_or_else(|| {
        format!("no workbook workspace here. Start with `workbook next` (it creates ./{DEFAULT_DIR}), or `workbook init DIR`")
    })
}

fn load_progress(ws: &Workspace) -> Result<Progress, String> {
    let (p, warning) = Progress::load(&ws.progress_path())?;
    if let Some(w) = warning {
        eprintln!("{} {w}", style("warning:").yellow().bold());
    }
    Ok(p)
}

/// The exercise named on the command line, else the current one; parses only that one.
fn pick<'a>(
    cat: &'a Catalog,
    progress: &Progress,
    wanted: Option<&str>,
) -> Result<&'a Exercise, String> {
    match wanted {
        Some(w) => cat.find(w),
        None => {
            let slug = progress
                .current_slug(cat.slugs())
                .or_else(|| cat.slugs().last().map(String::as_str))
                .ok_or_else(|| "this workbook has no exercises".to_string())?;
            cat.get(slug)
        }
    }
}

async fn connect() -> Result<Engine, String> {
    let engine = engine::connect().await?;
    sweep(&engine).await;
    Ok(engine)
}

/// Removes helpers left by a run that was killed (never another run's live ones). Grading
/// runs it beside its own requests: it only touches helpers older than any live one.
async fn sweep(engine: &Engine) {
    if let Err(e) = crate::docker::helpers::sweep(&engine.docker).await {
        eprintln!("{} {e}", style("warning:").yellow().bold());
    }
}

/// Builds missing or outdated lab images, saying so.
async fn ensure_images(engine: &Engine) -> Result<(), String> {
    let stale = images::stale(&engine.docker).await?;
    if stale.is_empty() {
        return Ok(());
    }
    eprintln!(
        "The lab images are missing or out of date ({}); building them now.",
        stale.join(", ")
    );
    images::setup(
        &engine.docker,
        &SetupOptions {
            offline: false,
            force: false,
            quiet: false,
        },
    )
    .await?;
    Ok(())
}

/// Creates the exercise's setup resources the first time the learner works on it. A pack's
/// setup is shown and confirmed first (`yes` skips the question).
async fn ensure_exercise_setup(
    engine: &Engine,
    cat: &Catalog,
    ex: &Exercise,
    progress: &mut Progress,
    yes: bool,
) -> Result<(), String> {
    let setup = &ex.data.setup;
    if setup.is_empty() || progress.exercise(&ex.slug).is_some_and(|e| e.setup_done) {
        return Ok(());
    }
    if let Some(pack) = cat.pack_dir() {
        eprintln!(
            "The pack {} sets up exercise {} with:",
            pack.display(),
            ex.slug
        );
        let states = lab_setup::volume_states(&engine.docker, ex).await?;
        let mut not_ours = None;
        for (v, state) in setup.volumes.iter().zip(&states) {
            match state {
                lab_setup::VolumeState::NotOurs => {
                    not_ours.get_or_insert(v.name.as_str());
                    eprintln!(
                        "  - volume {} ALREADY EXISTS and is not the workbook's: it will not be touched; setup will stop",
                        v.name
                    );
                }
                lab_setup::VolumeState::Ours => eprintln!(
                    "  - volume {} (made by the workbook for {} already: {} files written again)",
                    v.name,
                    ex.slug,
                    v.files.len()
                ),
                lab_setup::VolumeState::Absent => {
                    eprintln!("  - volume {} ({} files)", v.name, v.files.len())
                }
            }
        }
        if let Some(name) = not_ours {
            for c in &setup.containers {
                eprintln!("  - container {} (not created: setup stops)", c.name);
            }
            return Err(lab_setup::not_ours_message(cat, ex, name));
        }
        for c in &setup.containers {
            eprintln!(
                "  - container {} from {} (never started), mounting {}",
                c.name,
                c.image,
                c.volumes.join(", ")
            );
        }
        if !confirm("Create these?", yes)? {
            return Err(format!(
                "the pack's setup for {} was not run; `workbook --pack {} reset {} --yes` runs it without asking",
                ex.slug,
                pack.display(),
                ex.slug
            ));
        }
    }
    for line in lab_setup::apply(&engine.docker, cat, ex).await? {
        eprintln!("set up {line} for {}", ex.slug);
    }
    progress.exercise_mut(&ex.slug).setup_done = true;
    Ok(())
}

/// A pack's exec checks run commands in the learner's containers. Before the first grading
/// that would run them they are shown and need a yes (`yes` gives it); the approval is kept per
/// exercise in the progress state, by a digest of the commands, so a pack that changes them
/// asks again. `again` is the command line to approve with (`check 01-x`). Built-in exercises
/// never ask.
fn ensure_exec_approval(
    cat: &Catalog,
    exercises: &[&Exercise],
    progress: &mut Progress,
    yes: bool,
    again: &str,
) -> Result<(), String> {
    let Some(pack) = cat.pack_dir() else {
        return Ok(());
    };
    let pending: Vec<(&Exercise, String)> = exercises
        .iter()
        .filter_map(|ex| {
            let digest = ex.exec_digest()?;
            let approved = progress
                .exercise(&ex.slug)
                .and_then(|p| p.exec_approved.as_deref());
            (approved != Some(digest.as_str())).then_some((*ex, digest))
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    for (ex, _) in &pending {
        let changed = progress
            .exercise(&ex.slug)
            .is_some_and(|p| p.exec_approved.is_some());
        eprintln!(
            "Grading exercise {} of the pack {} runs {}these commands in your containers:",
            ex.slug,
            pack.display(),
            if changed {
                "(changed since you approved them) "
            } else {
                ""
            }
        );
        for c in ex.exec_commands() {
            let writes = crate::curriculum::exercise::looks_like_write(&c.command)
                .map(|w| format!("   <- looks like it writes ({w})"))
                .unwrap_or_default();
            eprintln!("  - {c}{writes}");
        }
    }
    let refused = |why: &str| {
        format!(
            "{why}, so nothing was graded: approve the pack's commands with `workbook --pack {} {again} --yes`, \
             or run `workbook --pack {} {again}` on a terminal and answer y",
            pack.display(),
            pack.display()
        )
    };
    if !yes && !std::io::stdin().is_terminal() {
        return Err(refused("not asking on a non-interactive input"));
    }
    if !confirm("Run them whenever the exercise is graded?", yes)? {
        return Err(refused("the commands were not approved"));
    }
    for (ex, digest) in pending {
        progress.exercise_mut(&ex.slug).exec_approved = Some(digest);
    }
    Ok(())
}

fn confirm(question: &str, yes: bool) -> Result<bool, String> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "not asking on a non-interactive input: re-run with --yes to proceed".to_string(),
        );
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn mark(status: Status) -> console::StyledObject<&'static str> {
    match status {
        Status::Pass => style("✓").green().bold(),
        Status::Fail => style("✗").red().bold(),
        Status::Error => style("!").yellow().bold(),
    }
}

fn print_report(ex: &Exercise, report: &Report) {
    outln(&format!("{} · {}", style(&ex.slug).bold(), ex.title()));
    for (i, step) in report.steps.iter().enumerate() {
        outln(&format!(
            "  {} {}. {}",
            mark(step.status),
            i + 1,
            step.title
        ));
        if step.status != Status::Pass {
            for line in step.message.lines() {
                outln(&format!("       {line}"));
            }
        }
    }
    let passed = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Pass)
        .count();
    let summary = format!("{passed}/{} steps pass", report.steps.len());
    match report.status {
        Status::Pass => outln(&format!(
            "{} — run `workbook next` to move on",
            style(summary).green()
        )),
        Status::Fail => outln(&format!(
            "{} — `workbook hint` helps with the first one left",
            style(summary).red()
        )),
        Status::Error => outln(&format!(
            "{} — the daemon could not be read; fix that and run `workbook check` again",
            style(summary).yellow()
        )),
    }
}

fn md(text: &str) {
    out(&render(text, &Style::for_stdout()));
    outln("");
}

fn lesson_of(cat: &Catalog, ex: &Exercise) -> Lesson {
    Lesson::parse(&cat.lesson(&ex.data.lesson).unwrap_or_default())
}

/// The lesson part and task of a step (with the introduction for the first step).
fn show_step(
    cat: &Catalog,
    ex: &Exercise,
    index: usize,
    total_done: usize,
    exercises_total: usize,
    position: usize,
) {
    let lesson = lesson_of(cat, ex);
    let step = &ex.steps()[index];
    outln(&format!(
        "{}",
        style(format!(
            "Exercise {position}/{exercises_total} · {} · step {}/{} ({total_done} done)",
            ex.slug,
            index + 1,
            ex.steps().len()
        ))
        .dim()
    ));
    if index == 0 {
        md(&lesson.intro);
    }
    md(lesson.step(&step.id));
    md(&format!("## Your task: {}\n\n{}", step.title, step.task));
    outln(&format!(
        "{}",
        style(
            "Check your work with `workbook check` (or `workbook next`); stuck? `workbook hint`."
        )
        .dim()
    ));
}

// ---------------------------------------------------------------- commands

fn init(cat: &Catalog, dir: Option<PathBuf>) -> CmdResult {
    let dir = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let (ws, written) = Workspace::init(&dir, cat)?;
    outln(&format!(
        "Workspace ready at {} ({} files written).",
        ws.root.display(),
        written.len()
    ));
    outln(&format!(
        "Next: `cd {}` and `workbook next`.",
        dir.display()
    ));
    Ok(0)
}

async fn setup(offline: bool, force: bool) -> CmdResult {
    let engine = connect().await?;
    let report = images::setup(
        &engine.docker,
        &SetupOptions {
            offline,
            force,
            quiet: false,
        },
    )
    .await?;
    if let Some(base) = report.base {
        outln(&format!("Base image: {base}."));
    }
    outln(&format!("Lab images ready: {}.", images::ALL.join(", ")));
    Ok(0)
}

/// `setup --save FILE`: builds what is missing (as `setup` does), then writes the bundle.
async fn setup_save(offline: bool, force: bool, file: &Path) -> CmdResult {
    let engine = connect().await?;
    let opts = SetupOptions {
        offline,
        force,
        quiet: !std::io::stderr().is_terminal(),
    };
    let report = crate::docker::bundle::save_with(&engine.docker, file, &opts).await?;
    outln(&report.summary());
    Ok(0)
}

/// `setup --load FILE`: loads a bundle and verifies the lab images; needs no network.
async fn setup_load(file: &Path) -> CmdResult {
    let engine = connect().await?;
    let report = crate::docker::bundle::load(&engine.docker, file).await?;
    outln(&report.summary());
    Ok(0)
}

async fn next(cat: &Catalog, explicit: Option<&Path>, yes: bool) -> CmdResult {
    let exercises = cat.exercises()?;
    let _paged = crate::ui::output::Paged::start();
    let engine = connect().await?;
    let (ws, fresh) = match Workspace::find(explicit)? {
        Some(ws) => (ws, false),
        None => {
            let dir = explicit
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
            let (ws, _) = Workspace::init(&dir, cat)?;
            eprintln!(
                "Created your workspace at {}: one folder per exercise.",
                ws.root.display()
            );
            (ws, true)
        }
    };
    ensure_images(&engine).await?;
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    let Some(mut ex) = progress.current(exercises) else {
        outln("Every exercise is done. `workbook list` shows them; `workbook reset EX` starts one again.");
        return Ok(0);
    };
    progress.current = Some(ex.slug.clone());
    if let Err(e) = ensure_exercise_setup(&engine, cat, ex, &mut progress, yes).await {
        // Where the learner is stays recorded.
        progress.save(&ws.progress_path())?;
        return Err(e);
    }
    let mut code = 0;
    let mut first_unfinished = 0;
    if !fresh {
        if let Err(e) = ensure_exec_approval(cat, &[ex], &mut progress, yes, "next") {
            progress.save(&ws.progress_path())?;
            return Err(e);
        }
        let endpoint = engine.endpoint.to_string();
        let memory = ws.grading_memory(&endpoint);
        let report =
            grade::grade_with(&engine.docker, ex, &ws.exercise_dir(&ex.slug), &memory).await;
        ws.keep_history(&endpoint, &memory);
        progress.record(&report);
        if report.status == Status::Error {
            print_report(ex, &report);
            progress.save(&ws.progress_path()).map_err(not_recorded)?;
            return Ok(2);
        }
        if report.passed() {
            outln(&format!(
                "{} {} complete!",
                style("✓").green().bold(),
                ex.title()
            ));
            let outro = lesson_of(cat, ex).outro;
            if !outro.trim().is_empty() {
                md(&outro);
            }
            match exercises.iter().find(|e| !progress.is_done(&e.slug)) {
                Some(n) => {
                    ex = n;
                    progress.current = Some(ex.slug.clone());
                    if let Err(e) =
                        ensure_exercise_setup(&engine, cat, ex, &mut progress, yes).await
                    {
                        // What was graded and where the learner is stay recorded.
                        progress.save(&ws.progress_path())?;
                        return Err(e);
                    }
                    outln(&format!(
                        "{}",
                        style(format!("Next up: {} · {}", ex.slug, ex.title())).bold()
                    ));
                }
                None => {
                    outln(
                        "That was the last exercise: you have done the whole workbook. Well done!",
                    );
                    progress.save(&ws.progress_path()).map_err(not_recorded)?;
                    return Ok(0);
                }
            }
        } else {
            for s in report.steps.iter().filter(|s| s.status == Status::Pass) {
                outln(&format!("{} {}", mark(Status::Pass), s.title));
            }
            first_unfinished = report
                .steps
                .iter()
                .position(|s| s.status != Status::Pass)
                .unwrap_or(0);
            let step = &report.steps[first_unfinished];
            // The learner was shown this step and tried it: say why it is not done yet.
            if progress
                .exercise(&ex.slug)
                .and_then(|p| p.last_shown.as_deref())
                == Some(step.id.as_str())
            {
                outln(&format!(
                    "{} {}",
                    mark(step.status),
                    style(&step.title).bold()
                ));
                for line in step.message.lines() {
                    outln(&format!("    {line}"));
                }
            }
            outln("");
            code = 1;
        }
    }
    let position = exercises
        .iter()
        .position(|e| e.slug == ex.slug)
        .unwrap_or(0)
        + 1;
    let steps_done = progress
        .exercise(&ex.slug)
        .map(|p| {
            p.steps
                .values()
                .filter(|s| s.first_passed.is_some())
                .count()
        })
        .unwrap_or(0);
    show_step(
        cat,
        ex,
        first_unfinished,
        steps_done,
        exercises.len(),
        position,
    );
    progress.exercise_mut(&ex.slug).last_shown = Some(ex.steps()[first_unfinished].id.clone());
    progress.save(&ws.progress_path()).map_err(not_recorded)?;
    Ok(code)
}

async fn check(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    as_json: bool,
    yes: bool,
) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    let ex = pick(cat, &progress, wanted)?;
    let engine = engine::connect().await?;
    let endpoint = engine.endpoint.to_string();
    let memory = ws.grading_memory(&endpoint);
    let again = format!("check {}", ex.slug);
    let (report, ()) = tokio::join!(
        async {
            ensure_exercise_setup(&engine, cat, ex, &mut progress, yes).await?;
            ensure_exec_approval(cat, &[ex], &mut progress, yes, &again)?;
            let dir = ws.exercise_dir(&ex.slug);
            Ok::<_, String>(grade::grade_with(&engine.docker, ex, &dir, &memory).await)
        },
        sweep(&engine)
    );
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // What was set up stays recorded, whatever stopped the grading.
            progress.save(&ws.progress_path())?;
            return Err(e);
        }
    };
    progress.record(&report);
    let saved = progress.save(&ws.progress_path());
    ws.keep_history(&endpoint, &memory);
    // The verdict is shown even when it could not be kept (a full disk).
    if as_json {
        json(&report);
    } else {
        print_report(ex, &report);
    }
    saved.map_err(not_recorded)?;
    Ok(report.exit_code())
}

/// A progress file that could not be written, said after the verdict it failed to keep.
fn not_recorded(e: String) -> String {
    format!("{e}\nThe verdict above was not recorded: free some space (or fix the folder's permissions) and run the command again.")
}

/// Every exercise at once: one process, concurrent gathering, no setup created.
async fn check_all(cat: &Catalog, explicit: Option<&Path>, as_json: bool, yes: bool) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    let all: Vec<&Exercise> = cat.exercises()?.iter().collect();
    ensure_exec_approval(cat, &all, &mut progress, yes, "check --all")?;
    let engine = engine::connect().await?;
    let endpoint = engine.endpoint.to_string();
    let memory = ws.grading_memory(&endpoint);
    let dirs: Vec<PathBuf> = cat
        .exercises()?
        .iter()
        .map(|ex| ws.exercise_dir(&ex.slug))
        .collect();
    let reports =
        futures_util::future::join_all(cat.exercises()?.iter().zip(&dirs).map(|(ex, dir)| {
            grade::grade_with(&engine.docker, ex, dir, &memory).map(move |r| (ex, r))
        }));
    let (reports, ()) = tokio::join!(reports, sweep(&engine));
    for (_, r) in &reports {
        progress.record(r);
    }
    let saved = progress.save(&ws.progress_path());
    ws.keep_history(&endpoint, &memory);
    let code = reports
        .iter()
        .map(|(_, r)| r.exit_code())
        .max()
        .unwrap_or(0);
    if as_json {
        let status = match code {
            0 => Status::Pass,
            1 => Status::Fail,
            _ => Status::Error,
        };
        let all: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
        json(&serde_json::json!({ "version": 1, "status": status, "exercises": all }));
    } else {
        for (ex, r) in &reports {
            print_report(ex, r);
        }
    }
    saved.map_err(not_recorded)?;
    Ok(code)
}

fn hint(cat: &Catalog, explicit: Option<&Path>, wanted: Option<&str>) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    let ex = pick(cat, &progress, wanted)?;
    let passed = |id: &str| {
        progress
            .exercise(&ex.slug)
            .and_then(|p| p.steps.get(id))
            .is_some_and(|s| s.first_passed.is_some())
    };
    let step = ex
        .steps()
        .iter()
        .find(|s| !passed(&s.id))
        .unwrap_or(&ex.steps()[0]);
    md(&format!(
        "### Hint for {} · {}\n\n{}",
        ex.slug, step.title, step.hint
    ));
    progress.exercise_mut(&ex.slug).hints_used += 1;
    progress.save(&ws.progress_path())?;
    Ok(0)
}

#[derive(serde::Serialize)]
struct ListEntry<'a> {
    slug: &'a str,
    title: &'a str,
    status: ExerciseStatus,
    current: bool,
    steps_passed: usize,
    steps_total: usize,
}

fn list(cat: &Catalog, explicit: Option<&Path>, as_json: bool) -> CmdResult {
    let exercises = cat.exercises()?;
    let ws = Workspace::find(explicit)?;
    let progress = match &ws {
        Some(ws) => load_progress(ws)?,
        None => Progress::default(),
    };
    let current = progress.current(exercises).map(|e| e.slug.clone());
    let entries: Vec<ListEntry> = exercises
        .iter()
        .map(|e| {
            let p = progress.exercise(&e.slug);
            ListEntry {
                slug: &e.slug,
                title: e.title(),
                status: p.map(|p| p.status).unwrap_or_default(),
                current: current.as_deref() == Some(e.slug.as_str()),
                steps_passed: e
                    .steps()
                    .iter()
                    .filter(|s| {
                        p.and_then(|p| p.steps.get(&s.id))
                            .is_some_and(|s| s.first_passed.is_some())
                    })
                    .count(),
                steps_total: e.steps().len(),
            }
        })
        .collect();
    if as_json {
        json(&serde_json::json!({
            "version": 1,
            "workspace": ws.as_ref().map(|w| w.root.display().to_string()),
            "current": current,
            "exercises": entries,
        }));
        return Ok(0);
    }
    let width = entries.iter().map(|e| e.slug.len()).max().unwrap_or(0);
    for e in &entries {
        let status = match e.status {
            ExerciseStatus::Done => style("done   ").green(),
            ExerciseStatus::Pending if e.steps_passed > 0 => style("started").yellow(),
            ExerciseStatus::Pending => style("pending").dim(),
        };
        outln(&format!(
            "{} {:width$}  {status}  {}/{}  {}",
            if e.current {
                style("→").cyan().bold()
            } else {
                style(" ")
            },
            e.slug,
            e.steps_passed,
            e.steps_total,
            e.title,
        ));
    }
    if ws.is_none() {
        outln(&format!(
            "(no workspace yet: `workbook next` creates ./{DEFAULT_DIR})"
        ));
    }
    Ok(0)
}

fn lesson(cat: &Catalog, explicit: Option<&Path>, wanted: Option<&str>) -> CmdResult {
    let _paged = crate::ui::output::Paged::start();
    let progress = match Workspace::find(explicit)? {
        Some(ws) => load_progress(&ws)?,
        None => Progress::default(),
    };
    let ex = pick(cat, &progress, wanted)?;
    let text = cat
        .lesson(&ex.data.lesson)
        .ok_or_else(|| format!("the lesson {} is missing", ex.data.lesson))?;
    let l = Lesson::parse(&text);
    let mut full = l.intro.clone();
    for step in ex.steps() {
        full.push_str(l.step(&step.id));
        full.push_str(&format!("\n**Task:** {}\n", step.task.trim()));
    }
    full.push_str(&l.outro);
    md(&full);
    Ok(0)
}

async fn solution(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    run: bool,
    yes: bool,
) -> CmdResult {
    let ws = Workspace::find(explicit)?;
    let progress = match &ws {
        Some(ws) => load_progress(ws)?,
        None => Progress::default(),
    };
    let ex = pick(cat, &progress, wanted)?;
    let script = cat
        .solution(&ex.slug)
        .ok_or_else(|| format!("exercise {} has no reference solution", ex.slug))?;
    if !run {
        outln(&format!(
            "# Reference solution for {} (run in its folder)",
            ex.slug
        ));
        out(&crate::ui::safe_text::text(&script));
        return Ok(0);
    }
    let ws = ws.ok_or_else(|| {
        "no workspace: run `workbook next` first, then `workbook solution --run`".to_string()
    })?;
    let dir = ws.exercise_dir(&ex.slug);
    eprintln!("This runs in {}:\n", dir.display());
    // Shown inert; what runs is the script byte for byte.
    eprintln!("{}", crate::ui::safe_text::text(&script));
    if !confirm("Run it?", yes)? {
        eprintln!("Nothing was run.");
        return Ok(1);
    }
    let engine = connect().await?;
    ensure_images(&engine).await?;
    // The solution starts from the exercise's setup, as the learner does.
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    ensure_exercise_setup(&engine, cat, ex, &mut progress, yes).await?;
    progress.save(&ws.progress_path())?;
    let status = crate::lab::scripts::run(&script, &dir).await?;
    if status != 0 {
        return Err(format!(
            "the solution script stopped with exit code {status}; its output is above"
        ));
    }
    Ok(0)
}

async fn bench_io(size_mb: u64, rounds: u32, as_json: bool) -> CmdResult {
    let engine = connect().await?;
    ensure_images(&engine).await?;
    let opts = crate::lab::bench::BenchOptions { size_mb, rounds };
    if !as_json {
        eprintln!("Measuring {size_mb} MiB x {rounds} round(s) on 4 kinds of storage...");
    }
    let report = crate::lab::bench::run(&engine.docker, &opts).await?;
    if as_json {
        json(&report);
    } else {
        let style = Style::for_stdout();
        out(&crate::lab::bench::chart(&report, style.width, style.color));
    }
    Ok(0)
}

async fn verify(cat: &Catalog, wanted: &[String], as_json: bool, yes: bool) -> CmdResult {
    let chosen: Vec<&Exercise> = if wanted.is_empty() {
        cat.exercises()?.iter().collect()
    } else {
        wanted
            .iter()
            .map(|w| find_exercise(cat.exercises()?, w))
            .collect::<Result<_, _>>()?
    };
    if let Some(pack) = cat.pack_dir() {
        eprintln!(
            "The pack {} will run these scripts on your daemon:",
            pack.display()
        );
        let shown = |script: &str| crate::ui::safe_text::text(script.trim_end()).into_owned();
        for ex in &chosen {
            let solution = cat.solution(&ex.slug).unwrap_or_default();
            eprintln!("--- {} solution:\n{}", ex.slug, shown(&solution));
            for v in &ex.data.variants {
                eprintln!("--- {} variant {}:\n{}", ex.slug, v.id, shown(&v.run));
            }
            for m in &ex.data.mistakes {
                eprintln!("--- {} mistake {}:\n{}", ex.slug, m.id, shown(&m.run));
            }
            let commands = ex.exec_commands();
            if !commands.is_empty() {
                eprintln!(
                    "--- {} exec checks, run in containers at every grading:",
                    ex.slug
                );
                for c in commands {
                    eprintln!("  - {c}");
                }
            }
        }
    }
    let declared = crate::lab::verify::declared(&chosen);
    if !declared.is_empty() {
        eprintln!("verify resets each exercise before and after it, removing if present:");
        for d in &declared {
            eprintln!("  - {d}");
        }
    }
    if !confirm("Go ahead?", yes)? {
        eprintln!("Nothing was run.");
        return Ok(1);
    }
    let engine = connect().await?;
    ensure_images(&engine).await?;
    if !as_json {
        outln(&crate::lab::verify::table_header());
    }
    let report = crate::lab::verify::verify(&engine.docker, cat, &chosen, |v| {
        if !as_json {
            outln(&crate::lab::verify::table_row(v));
        }
    })
    .await?;
    if as_json {
        json(&report);
    } else {
        for v in report.exercises.iter().filter(|v| !v.ok()) {
            outln(&format!("\n{} {}:", mark(Status::Fail), v.exercise));
            for p in &v.problems {
                // Problems quote the scripts' output.
                outln(&format!("  - {}", crate::ui::safe_text::text(p)));
            }
        }
        if report.left_behind.is_empty() {
            outln("\nNothing was left behind: the daemon has the same containers, volumes and networks as before.");
        } else {
            outln(&format!(
                "\n{} left behind: {}",
                mark(Status::Fail),
                report.left_behind.join(", ")
            ));
        }
        let bad = report.exercises.iter().filter(|v| !v.ok()).count();
        outln(&if report.ok {
            format!(
                "{} all {} exercises verified",
                mark(Status::Pass),
                report.exercises.len()
            )
        } else {
            format!(
                "{} {bad} of {} exercises have problems",
                mark(Status::Fail),
                report.exercises.len()
            )
        });
    }
    Ok(if report.ok { 0 } else { 1 })
}

/// Lists what resetting `what` removes and asks (unless `yes`); false when the answer is no.
fn confirm_removal(what: &str, items: &[reset::Item], yes: bool) -> Result<bool, String> {
    if items.is_empty() {
        eprintln!("{what}: nothing to remove.");
        return Ok(true);
    }
    eprintln!("Resetting {what} will:");
    for item in items {
        eprintln!("  - {item}");
    }
    let go = confirm("Go ahead?", yes)?;
    if !go {
        eprintln!("Nothing was changed.");
    }
    Ok(go)
}

/// The problems a reset met, as the command's error.
fn incomplete(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the reset was incomplete:\n  {}",
        problems.join("\n  ")
    ))
}

/// Every exercise back to its start: only what exercises declare and what the workbook made.
async fn reset_all(cat: &Catalog, explicit: Option<&Path>, yes: bool) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let _lock = ws.lock()?;
    let engine = connect().await?;
    let mut items: Vec<reset::Item> = Vec::new();
    for ex in cat.exercises()? {
        for item in reset::plan(&engine.docker, &ws, cat, ex, &ex.data.resources).await? {
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    if !confirm_removal("every exercise", &items, yes)? {
        return Ok(1);
    }
    let problems = reset::execute(&engine.docker, &items).await;
    Progress::default().save(&ws.progress_path())?;
    incomplete(problems)?;
    eprintln!("Every exercise is back at its start. `workbook next` begins with the first.");
    Ok(0)
}

async fn reset_cmd(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    yes: bool,
) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let _lock = ws.lock()?;
    let mut progress = load_progress(&ws)?;
    let ex = pick(cat, &progress, wanted)?;
    let engine = connect().await?;
    let items = reset::plan(&engine.docker, &ws, cat, ex, &ex.data.resources).await?;
    if !confirm_removal(&ex.slug, &items, yes)? {
        return Ok(1);
    }
    let problems = reset::execute(&engine.docker, &items).await;
    progress.reset(&ex.slug);
    progress.current = Some(ex.slug.clone());
    ensure_exercise_setup(&engine, cat, ex, &mut progress, yes).await?;
    progress.save(&ws.progress_path())?;
    incomplete(problems)?;
    eprintln!(
        "{} is back at its start. `workbook next` shows the first step.",
        ex.slug
    );
    Ok(0)
}
