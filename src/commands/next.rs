//! `workbook next`: grades the current exercise, moves on when it passes, and shows the next
//! task (creating the workspace the first time).

use std::path::{Path, PathBuf};

use console::style;

use crate::checks::Status;
use crate::commands::context::{connect, ensure_images, not_recorded, to_classroom, CmdResult};
use crate::commands::prepare::{ensure_exec_approval, ensure_setup, PackSetup};
use crate::commands::present::{
    lesson_of, mark, md, print_report, show_passed_step, show_step, unseen_steps,
};
use crate::curriculum::catalog::Catalog;
use crate::grading::grade;
use crate::learner::state::State;
use crate::learner::workspace::{Workspace, DEFAULT_DIR};
use crate::ui::output::outln;

pub async fn run(cat: &Catalog, explicit: Option<&Path>, yes: bool) -> CmdResult {
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
    let mut state = State::open(&ws)?;
    let Some(mut ex) = state.progress.current(exercises) else {
        outln("Every exercise is done. `workbook list` shows them; `workbook reset EX` starts one again.");
        return Ok(0);
    };
    ensure_images(&engine, &ex.lab_images()).await?;
    let ask = PackSetup::Ask { yes };
    state.progress.current = Some(ex.slug.clone());
    if let Err(e) = ensure_setup(&engine, cat, ex, &mut state.progress, ask).await {
        // Where the learner is stays recorded.
        state.save()?;
        return Err(e);
    }
    let mut code = 0;
    let mut first_unfinished = 0;
    if !fresh {
        if let Err(e) = ensure_exec_approval(cat, &[ex], &mut state.progress, yes, "next") {
            state.save()?;
            return Err(e);
        }
        let endpoint = engine.endpoint.to_string();
        let memory = ws.grading_memory(&endpoint);
        let report =
            grade::grade_with(&engine.docker, ex, &ws.exercise_dir(&ex.slug), &memory).await;
        ws.keep_history(&endpoint, &memory);
        state.record(&report);
        to_classroom(&ws, &state.progress, &[&report]).await;
        if report.status == Status::Error {
            print_report(ex, &report);
            state.save().map_err(not_recorded)?;
            return Ok(2);
        }
        let last_shown = state
            .progress
            .exercise(&ex.slug)
            .and_then(|p| p.last_shown.clone());
        if report.passed() {
            // Steps that passed together with the one shown are worth reading too.
            if last_shown.is_some() {
                for i in unseen_steps(ex, last_shown.as_deref(), ex.steps().len()) {
                    show_passed_step(cat, ex, i);
                }
            }
            outln(&format!(
                "{} {} complete!",
                style("✓").green().bold(),
                ex.title()
            ));
            let outro = lesson_of(cat, ex).outro;
            if !outro.trim().is_empty() {
                md(&outro);
            }
            match exercises.iter().find(|e| !state.progress.is_done(&e.slug)) {
                Some(n) => {
                    ex = n;
                    state.progress.current = Some(ex.slug.clone());
                    if let Err(e) = ensure_images(&engine, &ex.lab_images()).await {
                        state.save()?;
                        return Err(e);
                    }
                    if let Err(e) = ensure_setup(&engine, cat, ex, &mut state.progress, ask).await {
                        // What was graded and where the learner is stay recorded.
                        state.save()?;
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
                    state.save().map_err(not_recorded)?;
                    return Ok(0);
                }
            }
        } else {
            for s in report.steps.iter().filter(|s| s.status.settled()) {
                outln(&format!("{} {}", mark(s.status), s.title));
            }
            first_unfinished = report
                .steps
                .iter()
                .position(|s| !s.status.settled())
                .unwrap_or(0);
            if last_shown.is_some() {
                for i in unseen_steps(ex, last_shown.as_deref(), first_unfinished) {
                    show_passed_step(cat, ex, i);
                }
            }
            let step = &report.steps[first_unfinished];
            // The learner was shown this step and tried it: say why it is not done yet.
            if state
                .progress
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
    let steps_done = state
        .progress
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
    state.progress.exercise_mut(&ex.slug).last_shown =
        Some(ex.steps()[first_unfinished].id.clone());
    state.save().map_err(not_recorded)?;
    Ok(code)
}
