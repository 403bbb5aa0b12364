//! `workbook classroom status`: the dashboard in the terminal, read from the classroom's
//! SQLite file (also while the server runs); `--json` prints what `/api/state` answers.

use std::path::PathBuf;

use console::style;

use crate::classroom::room::{duration, label, CellState};
use crate::classroom::store::{Store, DEFAULT_FILE};
use crate::commands::context::CmdResult;
use crate::curriculum::catalog::Catalog;
use crate::ui::output::{json, outln};
use crate::ui::safe_text;
use crate::util::clock::now;

pub struct StatusArgs {
    pub data: Option<PathBuf>,
    /// Minutes.
    pub stuck_after: u64,
    pub json: bool,
}

/// `s` cut or padded to `width` characters.
fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n > width {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

impl StatusArgs {
    pub fn run(self, cat: &Catalog) -> CmdResult {
        let path = self.data.unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
        let store = Store::open_read_only(&path)?;
        let room = store.room(super::exercises(cat)?)?;
        let view = room.view(now(), self.stuck_after * 60);
        if self.json {
            json(&view);
            return Ok(0);
        }
        let records = store.record_count()?;
        outln(&format!(
            "{}: {} attendee{}, {} record{} ({})",
            style("Classroom").bold(),
            view.attendees.len(),
            if view.attendees.len() == 1 { "" } else { "s" },
            records,
            if records == 1 { "" } else { "s" },
            path.display()
        ));
        if view.attendees.is_empty() {
            outln("Nobody has joined yet: attendees run the join command `workbook classroom serve` printed.");
            return Ok(0);
        }
        if !view.hot_steps.is_empty() {
            outln("\nThe room is on:");
            for h in &view.hot_steps {
                outln(&format!("  {}", safe_text::line(&h.line())));
            }
        }
        let stuck: Vec<_> = view
            .attendees
            .iter()
            .filter_map(|a| a.current.as_ref().filter(|c| c.stuck).map(|c| (a, c)))
            .collect();
        if !stuck.is_empty() {
            outln(&format!(
                "\n{} (failing the same step for {} or more):",
                style("Stuck").red().bold(),
                duration(view.stuck_after)
            ));
            for (a, c) in stuck {
                outln(&format!(
                    "  {}: {} · {} for {}",
                    safe_text::line(&a.name),
                    label(&c.exercise),
                    safe_text::line(&c.step_title),
                    duration(c.failing_for)
                ));
            }
        }
        let width = view
            .attendees
            .iter()
            .map(|a| a.name.chars().count())
            .max()
            .unwrap_or(8)
            .clamp(8, 24);
        let mut head = format!("\n{}", fit("Attendee", width));
        for ex in &view.exercises {
            head.push_str(&format!(" {:>4}", label(&ex.slug)));
        }
        head.push_str(&format!("  {:<16}Now on", "Seen"));
        outln(&head);
        for a in &view.attendees {
            let mut line = fit(&safe_text::line(&a.name), width);
            for c in &a.cells {
                let cell = match c.state {
                    CellState::None => "·".to_string(),
                    CellState::Done => "✓".to_string(),
                    CellState::Working => format!("{}/{}", c.passed, c.total),
                };
                let padded = format!(" {cell:>4}");
                line.push_str(&match c.state {
                    CellState::Done => style(padded).green().to_string(),
                    CellState::Working => style(padded).yellow().to_string(),
                    CellState::None => style(padded).dim().to_string(),
                });
            }
            let seen = a.last_seen.map_or("joined".to_string(), |t| {
                crate::classroom::dashboard::seen(view.generated_at.saturating_sub(t))
            });
            line.push_str(&format!("  {seen:<16}"));
            if let Some(c) = &a.current {
                let on = format!(
                    "{} · {} ({})",
                    label(&c.exercise),
                    safe_text::line(&c.step_title),
                    duration(c.failing_for)
                );
                line.push_str(&if c.stuck {
                    style(on).red().to_string()
                } else {
                    on
                });
            }
            outln(&line);
        }
        let mut done = fit("Done", width);
        for n in &view.done {
            done.push_str(&format!(" {n:>4}"));
        }
        outln(&done);
        Ok(0)
    }
}
