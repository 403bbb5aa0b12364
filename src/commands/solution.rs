//! `workbook solution`: prints the reference solution; with `--run`, runs it after asking.

use std::path::Path;

use crate::commands::context::{confirm, connect, ensure_images, pick, CmdResult};
use crate::commands::prepare::{ensure_setup, PackSetup};
use crate::curriculum::catalog::Catalog;
use crate::learner::progress::Progress;
use crate::learner::state::{self, State};
use crate::learner::workspace::Workspace;
use crate::ui::output::{out, outln};

pub async fn run(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    run: bool,
    yes: bool,
) -> CmdResult {
    let ws = Workspace::find(explicit)?;
    let progress = match &ws {
        Some(ws) => state::load(ws)?,
        None => Progress::default(),
    };
    let ex = pick(cat, ws.as_ref(), &progress, wanted)?;
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
    ensure_images(&engine, &ex.lab_images()).await?;
    // The solution starts from the exercise's setup, as the learner does.
    let mut state = State::open(&ws)?;
    ensure_setup(
        &engine,
        cat,
        ex,
        &mut state.progress,
        PackSetup::Ask { yes },
    )
    .await?;
    state.save()?;
    let status = crate::lab::scripts::run(&script, &dir).await?;
    if status != 0 {
        return Err(format!(
            "the solution script stopped with exit code {status}; its output is above"
        )
        .into());
    }
    Ok(0)
}
