//! `workbook reset`: puts an exercise (or every one) back to its start: lists what it removes,
//! asks, removes, re-creates the setup.

use crate::util::error::Result;
use std::path::Path;

use crate::commands::context::{confirm_removal, connect, pick, require_workspace, CmdResult};
use crate::commands::prepare::{ensure_setup, PackSetup};
use crate::curriculum::catalog::Catalog;
use crate::lab::reset;
use crate::learner::state::State;

/// One exercise (default: the current one) back to its start.
pub async fn run(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    yes: bool,
) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let mut state = State::open(&ws)?;
    let ex = pick(cat, Some(&ws), &state.progress, wanted)?;
    let engine = connect().await?;
    let items = reset::plan(&engine.docker, &ws, cat, ex, &ex.data.resources).await?;
    if !confirm_removal(&ex.slug, &items, yes)? {
        return Ok(1);
    }
    let problems = reset::execute(&engine.docker, &items).await;
    state.progress.reset(&ex.slug);
    state.progress.current = Some(ex.slug.clone());
    ensure_setup(
        &engine,
        cat,
        ex,
        &mut state.progress,
        PackSetup::Ask { yes },
    )
    .await?;
    state.save()?;
    incomplete(problems)?;
    eprintln!(
        "{} is back at its start. `workbook next` shows the first step.",
        ex.slug
    );
    Ok(0)
}

/// Every exercise back to its start: only what exercises declare and what the workbook made.
pub async fn all(cat: &Catalog, explicit: Option<&Path>, yes: bool) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let state = State::replace(&ws)?;
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
    state.save()?;
    incomplete(problems)?;
    eprintln!("Every exercise is back at its start. `workbook next` begins with the first.");
    Ok(0)
}

/// The problems a reset met, as the command's error.
fn incomplete(problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("the reset was incomplete:\n  {}", problems.join("\n  ")).into())
}
