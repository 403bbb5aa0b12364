//! `workbook hint`: the hint for the first unfinished step, counted in the progress.

use std::path::Path;

use crate::commands::context::{pick, require_workspace, CmdResult};
use crate::commands::present::md;
use crate::curriculum::catalog::Catalog;
use crate::learner::state::State;

pub fn run(cat: &Catalog, explicit: Option<&Path>, wanted: Option<&str>) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let mut state = State::open(&ws)?;
    let ex = pick(cat, &state.progress, wanted)?;
    let passed = |id: &str| {
        state
            .progress
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
    state.count_hint(&ex.slug);
    state.save()?;
    Ok(0)
}
