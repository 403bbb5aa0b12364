//! What the commands share: the workspace, the exercise a command is about, the daemon
//! connection and the lab images, and the questions asked before changing anything.

use crate::util::error::Result;
use std::io::IsTerminal;
use std::path::Path;

use console::style;

use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine::{self, Engine};
use crate::docker::images::{self, SetupOptions};
use crate::lab::reset;
use crate::learner::progress::Progress;
use crate::learner::workspace::{Workspace, DEFAULT_DIR};

/// What a command returns: its exit code (0 pass, 1 fail, 2 error) or the
/// [`Error`](crate::util::error::Error) that `cli::main` shows (and ends with exit code 2).
pub type CmdResult = Result<i32>;

/// The workspace named (or the one we are in), or the error that says how to make one.
pub fn require_workspace(explicit: Option<&Path>) -> Result<Workspace> {
    Workspace::find(explicit)?.ok_or_else(|| {
        format!("no workbook workspace here. Start with `workbook next` (it creates ./{DEFAULT_DIR}), or `workbook init DIR`")
    }).map_err(Into::into)
}

/// Finds an exercise by slug, number (`2`, `02`), or a word or part of its name or title.
pub fn find_exercise<'a>(exercises: &'a [Exercise], wanted: &str) -> Result<&'a Exercise> {
    let slugs: Vec<String> = exercises.iter().map(|e| e.slug.clone()).collect();
    let titles = || exercises.iter().map(|e| e.title().to_string()).collect();
    let slug = crate::curriculum::catalog::find_slug(&slugs, titles, wanted)?;
    exercises
        .iter()
        .find(|e| e.slug == slug)
        .ok_or_else(|| format!("no exercise `{wanted}`"))
        .map_err(Into::into)
}

/// The exercise named on the command line, else the one whose folder of workspace `ws` we are
/// in (or in a subfolder of), else the current one; parses only that one.
pub fn pick<'a>(
    cat: &'a Catalog,
    ws: Option<&Workspace>,
    progress: &Progress,
    wanted: Option<&str>,
) -> Result<&'a Exercise> {
    match wanted {
        Some(w) => cat.find(w),
        None => {
            let slug = ws
                .and_then(|ws| ws.exercise_here(cat.slugs()))
                .or_else(|| progress.current_slug(cat.slugs()))
                .or_else(|| cat.slugs().last().map(String::as_str))
                .ok_or_else(|| "this workbook has no exercises".to_string())?;
            cat.get(slug)
        }
    }
}

/// Connects to the daemon and sweeps helpers left by a killed run.
pub async fn connect() -> Result<Engine> {
    let engine = engine::connect().await?;
    sweep(&engine).await;
    Ok(engine)
}

/// Removes helpers left by a run that was killed (never another run's live ones). Grading
/// runs it beside its own requests: it only touches helpers older than any live one.
pub async fn sweep(engine: &Engine) {
    if let Err(e) = crate::docker::helpers::sweep(&engine.docker).await {
        eprintln!("{} {e}", style("warning:").yellow().bold());
    }
}

/// Builds missing or outdated lab images, saying so: the three every exercise uses, and the
/// `extra` ones the exercises at hand declare (`images = [...]`). An extra image that cannot be
/// made here is an error that says why and what to install.
pub async fn ensure_images(engine: &Engine, extra: &[&'static str]) -> Result<()> {
    let mut stale = images::stale(&engine.docker).await?;
    stale.extend(images::stale_of(&engine.docker, extra).await?);
    if stale.is_empty() {
        return Ok(());
    }
    eprintln!(
        "The lab images are missing or out of date ({}); building them now.",
        stale.join(", ")
    );
    let report = images::setup(
        &engine.docker,
        &SetupOptions {
            offline: false,
            force: false,
            quiet: false,
            extra: extra.to_vec(),
        },
    )
    .await?;
    for (tag, outcome) in &report.images {
        if let images::Outcome::Unavailable(why) = outcome {
            return Err(format!("{tag} is needed here and could not be made: {why}").into());
        }
    }
    Ok(())
}

/// Asks `question` on the terminal (`yes` answers it); an error on a non-interactive input.
pub fn confirm(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            "not asking on a non-interactive input: re-run with --yes to proceed"
                .to_string()
                .into(),
        );
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Lists what resetting `what` removes and asks (unless `yes`); false when the answer is no.
pub fn confirm_removal(what: &str, items: &[reset::Item], yes: bool) -> Result<bool> {
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

/// A progress file that could not be written, said after the verdict it failed to keep.
pub fn not_recorded(e: crate::util::error::Error) -> String {
    format!("{e}\nThe verdict above was not recorded: free some space (or fix the folder's permissions) and run the command again.")
}

/// After a grading the learner asked for: the classroom's records (when the workspace joined
/// one, see [`crate::classroom::client`]). The caller holds the workspace lock. Never an error
/// and never a change of the verdict: a delivery problem is a dim line on stderr.
pub async fn to_classroom(
    ws: &crate::learner::workspace::Workspace,
    progress: &crate::learner::progress::Progress,
    reports: &[&crate::grading::grade::Report],
) {
    let delivery = crate::classroom::client::after_grading(ws, progress, reports).await;
    if let Some(line) = delivery.line() {
        eprintln!(
            "{}",
            console::style(crate::ui::safe_text::line(&line)).dim()
        );
    }
}
