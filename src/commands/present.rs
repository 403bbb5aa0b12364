//! What `check`, `next`, `list` and `watch` print: the checklist of a verdict, the marks, the
//! exercise table, a step's lesson and task, Markdown for the terminal.

use console::style;

use crate::checks::Status;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::curriculum::lesson::Lesson;
use crate::grading::grade::Report;
use crate::learner::progress::{ExerciseStatus, Progress};
use crate::ui::output::{out, outln};
use crate::ui::render::{render, Style};

/// A step's mark: ✓ pass, ✗ fail, ! could not be checked, – not available on this engine.
pub fn mark(status: Status) -> console::StyledObject<&'static str> {
    match status {
        Status::Pass => style("✓").green().bold(),
        Status::Fail => style("✗").red().bold(),
        Status::Error => style("!").yellow().bold(),
        Status::Unavailable => style("–").cyan().bold(),
    }
}

/// The checklist of a verdict, with what to do next.
pub fn print_report(ex: &Exercise, report: &Report) {
    outln(&format!("{} · {}", style(&ex.slug).bold(), ex.title()));
    // Steps not available for the same reason (a remote engine) say it once.
    let mut said: Vec<(&str, usize)> = Vec::new();
    for (i, step) in report.steps.iter().enumerate() {
        outln(&format!(
            "  {} {}. {}",
            mark(step.status),
            i + 1,
            step.title
        ));
        if step.status == Status::Unavailable {
            if let Some((_, first)) = said.iter().find(|(m, _)| *m == step.message) {
                outln(&format!("       not available either: see step {first}"));
                continue;
            }
            said.push((&step.message, i + 1));
        }
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
    let unavailable = report
        .steps
        .iter()
        .filter(|s| s.status == Status::Unavailable)
        .count();
    let mut summary = format!("{passed}/{} steps pass", report.steps.len());
    if unavailable > 0 {
        summary.push_str(&format!(", {unavailable} not available on this engine"));
    }
    match report.status {
        Status::Pass | Status::Unavailable => outln(&format!(
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

/// Markdown rendered for stdout, then an empty line.
pub fn md(text: &str) {
    out(&render(text, &Style::for_stdout()));
    outln("");
}

/// The lesson of an exercise (empty when it has none).
pub fn lesson_of(cat: &Catalog, ex: &Exercise) -> Lesson {
    Lesson::parse(&cat.lesson(&ex.data.lesson).unwrap_or_default())
}

/// The lesson part and task of a step (with the introduction for the first step).
pub fn show_step(
    cat: &Catalog,
    ex: &Exercise,
    index: usize,
    total_done: usize,
    exercises_total: usize,
    position: usize,
) {
    let lesson = lesson_of(cat, ex);
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
    step_text(&lesson, ex, index, "Your task");
    outln(&format!(
        "{}",
        style(
            "Check your work with `workbook check` (or `workbook next`); stuck? `workbook hint`."
        )
        .dim()
    ));
}

/// A step that passed before the learner was shown it (it passed together with an earlier
/// one): its lesson part and task are still worth reading.
pub fn show_passed_step(cat: &Catalog, ex: &Exercise, index: usize) {
    let lesson = lesson_of(cat, ex);
    outln(&format!(
        "{}",
        style(format!(
            "{} · step {}/{} passes already: what you did covered it too",
            ex.slug,
            index + 1,
            ex.steps().len()
        ))
        .dim()
    ));
    step_text(&lesson, ex, index, "Done");
}

/// A step's lesson part (after the lesson's introduction, for the first step) and its task
/// under `heading`.
fn step_text(lesson: &Lesson, ex: &Exercise, index: usize, heading: &str) {
    let step = &ex.steps()[index];
    if index == 0 {
        md(&lesson.intro);
    }
    md(lesson.step(&step.id));
    md(&format!("## {heading}: {}\n\n{}", step.title, step.task));
}

/// The steps of `ex` after the last one shown (`last_shown`, a step id; none shown: all) and
/// before `until`.
pub fn unseen_steps(
    ex: &Exercise,
    last_shown: Option<&str>,
    until: usize,
) -> std::ops::Range<usize> {
    let from = last_shown
        .and_then(|id| ex.steps().iter().position(|s| s.id == id))
        .map_or(0, |i| i + 1);
    from..until.max(from)
}

/// How many of the exercise's steps have passed once.
pub fn steps_passed(ex: &Exercise, progress: &Progress) -> usize {
    let p = progress.exercise(&ex.slug);
    ex.steps()
        .iter()
        .filter(|s| {
            p.and_then(|p| p.steps.get(&s.id))
                .is_some_and(|s| s.first_passed.is_some())
        })
        .count()
}

/// One line per exercise: an arrow at `current`, its slug, status, steps passed and title.
pub fn exercise_table(
    exercises: &[Exercise],
    progress: &Progress,
    current: Option<&str>,
) -> Vec<String> {
    let width = exercises.iter().map(|e| e.slug.len()).max().unwrap_or(0);
    exercises
        .iter()
        .map(|e| {
            let passed = steps_passed(e, progress);
            let status = match progress
                .exercise(&e.slug)
                .map(|p| p.status)
                .unwrap_or_default()
            {
                ExerciseStatus::Done => style("done   ").green(),
                ExerciseStatus::Pending if passed > 0 => style("started").yellow(),
                ExerciseStatus::Pending => style("pending").dim(),
            };
            let here = if current == Some(e.slug.as_str()) {
                style("→").cyan().bold()
            } else {
                style(" ")
            };
            format!(
                "{here} {:width$}  {status}  {passed}/{}  {}",
                e.slug,
                e.steps().len(),
                e.title()
            )
        })
        .collect()
}
