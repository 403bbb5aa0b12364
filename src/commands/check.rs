//! `workbook check`: grades every step of an exercise (default: the current one), or with
//! `--all` every exercise at once.

use std::path::{Path, PathBuf};

use futures_util::FutureExt;

use crate::checks::Status;
use crate::commands::context::{
    not_recorded, pick, require_workspace, sweep, to_classroom, CmdResult,
};
use crate::commands::prepare::{ensure_exec_approval, ensure_setup, PackSetup};
use crate::commands::present::print_report;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::docker::engine;
use crate::grading::grade::{self, Report};
use crate::learner::state::State;
use crate::ui::output::json;

/// Grades one exercise, creating its setup first (a pack's setup and exec commands are
/// confirmed, `yes` answers).
pub async fn run(
    cat: &Catalog,
    explicit: Option<&Path>,
    wanted: Option<&str>,
    as_json: bool,
    yes: bool,
) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let mut state = State::open(&ws)?;
    let ex = pick(cat, Some(&ws), &state.progress, wanted)?;
    let engine = engine::connect().await?;
    let endpoint = engine.endpoint.to_string();
    let memory = ws.grading_memory(&endpoint);
    let again = format!("check {}", ex.slug);
    let progress = &mut state.progress;
    let (report, ()) = tokio::join!(
        async {
            ensure_setup(&engine, cat, ex, progress, PackSetup::Ask { yes }).await?;
            ensure_exec_approval(cat, &[ex], progress, yes, &again)?;
            let dir = ws.exercise_dir(&ex.slug);
            Ok::<_, String>(grade::grade_with(&engine.docker, ex, &dir, &memory).await)
        },
        sweep(&engine)
    );
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // What was set up stays recorded, whatever stopped the grading.
            state.save()?;
            return Err(e.into());
        }
    };
    let saved = state.keep([(&report, true)], &endpoint, &memory);
    // The verdict is shown even when it could not be kept (a full disk).
    if as_json {
        json(&report);
    } else {
        print_report(ex, &report);
    }
    to_classroom(&ws, &state.progress, &[&report]).await;
    saved.map_err(not_recorded)?;
    Ok(report.exit_code())
}

/// Every exercise at once: one process, concurrent gathering, no setup created.
pub async fn all(cat: &Catalog, explicit: Option<&Path>, as_json: bool, yes: bool) -> CmdResult {
    let ws = require_workspace(explicit)?;
    let mut state = State::open(&ws)?;
    let all: Vec<&Exercise> = cat.exercises()?.iter().collect();
    ensure_exec_approval(cat, &all, &mut state.progress, yes, "check --all")?;
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
    let saved = state.keep(reports.iter().map(|(_, r)| (r, true)), &endpoint, &memory);
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
    let graded: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
    to_classroom(&ws, &state.progress, &graded).await;
    saved.map_err(not_recorded)?;
    Ok(code)
}
