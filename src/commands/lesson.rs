//! `workbook lesson`: the whole lesson of an exercise, with its tasks.

use std::path::Path;

use crate::commands::context::{pick, CmdResult};
use crate::commands::present::md;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::lesson::Lesson;
use crate::learner::progress::Progress;
use crate::learner::state;
use crate::learner::workspace::Workspace;

pub fn run(cat: &Catalog, explicit: Option<&Path>, wanted: Option<&str>) -> CmdResult {
    let _paged = crate::ui::output::Paged::start();
    let ws = Workspace::find(explicit)?;
    let progress = match &ws {
        Some(ws) => state::load(ws)?,
        None => Progress::default(),
    };
    let ex = pick(cat, ws.as_ref(), &progress, wanted)?;
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
