//! The screen: the checklist redrawn in place on a terminal, printed as lines elsewhere, and
//! how verdicts compare.

use console::{style, Term};

use crate::checks::Status;
use crate::commands::present::mark;
use crate::grading::grade::Report;
use crate::ui::output::{out, outln};

/// Terminal rows `lines` take at `width` columns (long lines wrap).
pub fn rows(lines: &[String], width: usize) -> usize {
    let width = width.max(1);
    lines
        .iter()
        .map(|l| console::measure_text_width(l).div_ceil(width).max(1))
        .sum()
}

/// Stdout: on a terminal the checklist is redrawn in place (lines printed above it stay);
/// otherwise every new verdict is printed as lines.
pub(super) struct Screen {
    pub(super) term: Term,
    pub(super) tty: bool,
    /// The checklist last drawn, and the rows it takes on screen now (0 once it scrolled
    /// away under other text).
    pub(super) checklist: Vec<String>,
    drawn_rows: usize,
}

impl Screen {
    pub(super) fn new() -> Screen {
        let term = Term::stdout();
        let tty = term.is_term();
        Screen {
            term,
            tty,
            checklist: Vec::new(),
            drawn_rows: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        if self.tty && self.drawn_rows > 0 {
            let _ = self.term.clear_last_lines(self.drawn_rows);
            self.drawn_rows = 0;
        }
    }

    /// Text that stays: above the checklist on a terminal.
    pub(super) fn say(&mut self, text: &str) {
        self.clear();
        outln(text);
        self.redraw();
    }

    /// A warning on stderr without garbling the checklist.
    pub(super) fn warn(&mut self, text: &str) {
        self.clear();
        eprintln!("{} {text}", style("warning:").yellow().bold());
        self.redraw();
    }

    /// Replaces the checklist (a terminal only: elsewhere verdicts are printed by the caller).
    pub(super) fn draw(&mut self, lines: Vec<String>) {
        self.clear();
        self.checklist = lines;
        self.redraw();
    }

    fn redraw(&mut self) {
        if !self.tty || self.checklist.is_empty() {
            return;
        }
        self.clear();
        out(&self
            .checklist
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>());
        self.drawn_rows = rows(&self.checklist, self.term.size().1 as usize);
    }
}

/// Every step with its mark, and the message of those that do not pass (with `brief`, of the
/// first one only).
pub(super) fn step_lines(report: &Report, brief: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let mut explained = false;
    for (i, step) in report.steps.iter().enumerate() {
        lines.push(format!("  {} {}. {}", mark(step.status), i + 1, step.title));
        if step.status != Status::Pass && !(brief && explained) {
            lines.extend(step.message.lines().map(|l| format!("       {l}")));
            explained = true;
        }
    }
    lines
}

/// [`step_lines`] in at most `room` rows of `width` columns where it can: every step's line,
/// and as much of the first unfinished step's message as fits.
pub fn fit_steps(report: &Report, width: usize, room: usize) -> Vec<String> {
    for brief in [false, true] {
        let lines = step_lines(report, brief);
        if rows(&lines, width) <= room {
            return lines;
        }
    }
    let titles = report.steps.len();
    // Rows left for the message, keeping one for the ellipsis.
    let mut budget = room.saturating_sub(titles + 1);
    let mut lines = Vec::new();
    let mut explained = false;
    for (i, step) in report.steps.iter().enumerate() {
        lines.push(format!("  {} {}. {}", mark(step.status), i + 1, step.title));
        if step.status != Status::Pass && !explained {
            explained = true;
            for l in step.message.lines() {
                let line = format!("       {l}");
                let need = rows(std::slice::from_ref(&line), width);
                if need > budget {
                    lines.push("       …".to_string());
                    break;
                }
                budget -= need;
                lines.push(line);
            }
        }
    }
    lines
}

/// The task of the step the learner is on, as Markdown rendered for `width` columns, in at most
/// `max_rows` rows (cut with an ellipsis; nothing when not even two fit).
pub fn task_lines(title: &str, task: &str, width: usize, max_rows: usize) -> Vec<String> {
    if max_rows < 2 {
        return Vec::new();
    }
    let style = crate::ui::render::Style {
        width: width.clamp(20, 100),
        color: console::colors_enabled(),
    };
    let text = crate::ui::render::render(&format!("**Your task: {title}**\n\n{task}"), &style);
    let mut lines: Vec<String> = Vec::new();
    for l in text.lines() {
        // Blank lines only between the title and the task.
        if l.trim().is_empty() && lines.len() != 1 {
            continue;
        }
        let line = l.to_string();
        if rows(&lines, width) + rows(std::slice::from_ref(&line), width) > max_rows - 1 {
            lines.push("…".to_string());
            return lines;
        }
        lines.push(line);
    }
    lines
}

pub(super) fn summary(report: &Report) -> String {
    let count = |status| report.steps.iter().filter(|s| s.status == status).count();
    let mut text = format!("{}/{} steps pass", count(Status::Pass), report.steps.len());
    if count(Status::Unavailable) > 0 {
        text.push_str(&format!(
            ", {} not available on this engine",
            count(Status::Unavailable)
        ));
    }
    match count(Status::Error) {
        0 => text,
        n => format!("{text}, {n} could not be checked"),
    }
}

/// Whether two verdicts read the same (status and message of every step).
pub(super) fn same_verdict(a: &Report, b: &Report) -> bool {
    a.status == b.status
        && a.steps.len() == b.steps.len()
        && a.steps
            .iter()
            .zip(&b.steps)
            .all(|(x, y)| x.status == y.status && x.message == y.message)
}

/// Steps that pass now and did not in `before` (1-based number, title).
pub(super) fn newly_passed<'r>(before: Option<&Report>, now: &'r Report) -> Vec<(usize, &'r str)> {
    let Some(before) = before else {
        return Vec::new();
    };
    now.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == Status::Pass)
        .filter(|(_, s)| before.step(&s.id).is_none_or(|b| b.status != Status::Pass))
        .map(|(i, s)| (i + 1, s.title.as_str()))
        .collect()
}
#[cfg(test)]
mod task_tests {
    use super::*;

    #[test]
    fn the_task_fits_the_room_left_or_is_cut_with_an_ellipsis() {
        let task = "Create a volume `ml-data`.\n\nThen run `docker volume ls`: it lists it.";
        let all = task_lines("Create the ml-data volume", task, 80, 10);
        let plain: Vec<String> = all
            .iter()
            .map(|l| console::strip_ansi_codes(l).into_owned())
            .collect();
        assert!(
            plain[0].contains("Your task: Create the ml-data volume"),
            "{plain:?}"
        );
        assert!(
            plain.iter().any(|l| l.contains("docker volume ls")),
            "{plain:?}"
        );
        assert!(rows(&all, 80) <= 10);
        let cut = task_lines("Create the ml-data volume", task, 80, 3);
        assert!(rows(&cut, 80) <= 3 && cut.last().unwrap() == "…", "{cut:?}");
        assert!(task_lines("t", task, 80, 1).is_empty());
    }
}
