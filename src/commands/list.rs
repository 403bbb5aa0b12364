//! `workbook list`: every exercise with its status.

use std::path::Path;

use crate::commands::context::CmdResult;
use crate::commands::present::{exercise_table, steps_passed};
use crate::curriculum::catalog::Catalog;
use crate::learner::progress::{ExerciseStatus, Progress};
use crate::learner::state;
use crate::learner::workspace::{Workspace, DEFAULT_DIR};
use crate::ui::output::{json, outln};

#[derive(serde::Serialize)]
struct ListEntry<'a> {
    slug: &'a str,
    title: &'a str,
    status: ExerciseStatus,
    current: bool,
    steps_passed: usize,
    steps_total: usize,
}

pub fn run(cat: &Catalog, explicit: Option<&Path>, as_json: bool) -> CmdResult {
    let exercises = cat.exercises()?;
    let ws = Workspace::find(explicit)?;
    let progress = match &ws {
        Some(ws) => state::load(ws)?,
        None => Progress::default(),
    };
    let current = progress.current(exercises).map(|e| e.slug.clone());
    if as_json {
        let entries: Vec<ListEntry> = exercises
            .iter()
            .map(|e| ListEntry {
                slug: &e.slug,
                title: e.title(),
                status: progress
                    .exercise(&e.slug)
                    .map(|p| p.status)
                    .unwrap_or_default(),
                current: current.as_deref() == Some(e.slug.as_str()),
                steps_passed: steps_passed(e, &progress),
                steps_total: e.steps().len(),
            })
            .collect();
        json(&serde_json::json!({
            "version": 1,
            "workspace": ws.as_ref().map(|w| w.root.display().to_string()),
            "current": current,
            "exercises": entries,
        }));
        return Ok(0);
    }
    let Some(_) = ws else {
        // No progress to show: not "pending 0/3" for every exercise, which reads as lost work.
        outln(&format!(
            "No workspace here, so no progress to show (a workspace is the folder `workbook next` \
             creates, ./{DEFAULT_DIR}; run `workbook list` inside it, or give it with \
             `--workspace DIR`). The exercises:"
        ));
        let width = exercises.iter().map(|e| e.slug.len()).max().unwrap_or(0);
        for e in exercises {
            let steps = e.steps().len();
            outln(&format!(
                "  {:width$}  {steps} step{}  {}",
                e.slug,
                if steps == 1 { " " } else { "s" },
                e.title()
            ));
        }
        return Ok(0);
    };
    for line in exercise_table(exercises, &progress, current.as_deref()) {
        outln(&line);
    }
    Ok(0)
}
