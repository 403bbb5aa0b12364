//! The doctor's checklist as people read it: a mark per check, fix lines, a verdict.

use console::style;

use super::{CheckStatus, Overall, Report};

fn mark(status: CheckStatus, color: bool) -> String {
    let m = match status {
        CheckStatus::Ok => style("✓").green().bold(),
        CheckStatus::Warn => style("!").yellow().bold(),
        CheckStatus::Fail => style("✗").red().bold(),
    };
    m.force_styling(color).to_string()
}

/// The checklist: one line per check, an indented fix line under each problem, and a verdict.
pub fn render(report: &Report, color: bool) -> String {
    let mut text = String::new();
    for c in &report.checks {
        text.push_str(&format!("{} {}\n", mark(c.status, color), c.summary));
        if let Some(fix) = &c.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                text.push_str(&format!("    {lead} {line}\n"));
            }
        }
    }
    let fails = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let warns = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Warn)
        .count();
    let warnings = match warns {
        0 => String::new(),
        1 => " (1 warning)".to_string(),
        n => format!(" ({n} warnings)"),
    };
    let verdict = match report.status {
        Overall::Ok => style(format!("All good: this machine is ready for the workbook{warnings}."))
            .green()
            .bold(),
        Overall::Problems => style(format!(
            "{fails} problem{} found{warnings}: run the fixes above, then `workbook doctor` again.",
            if fails == 1 { "" } else { "s" }
        ))
        .red()
        .bold(),
        Overall::Unreachable => style(
            "The Docker daemon cannot be reached: fix that first, then run `workbook doctor` again \
             (the images, registry, disk, bind-mount and leftover checks need the daemon)."
                .to_string(),
        )
        .red()
        .bold(),
    };
    text.push_str(&format!("{}\n", verdict.force_styling(color)));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::doctor::tests::check;
    use crate::commands::doctor::Report;

    #[test]
    fn renders_a_checklist_with_fix_lines() {
        let r = Report::new(
            vec![
                check("endpoint", CheckStatus::Ok),
                check("registry", CheckStatus::Warn),
                check("images", CheckStatus::Fail),
            ],
            true,
        );
        let text = render(&r, false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "✓ endpoint summary");
        assert_eq!(lines[1], "! registry summary");
        assert_eq!(lines[2], "    fix: fix registry");
        assert_eq!(lines[3], "✗ images summary");
        assert_eq!(lines[4], "    fix: fix images");
        assert!(
            lines[5].starts_with("1 problem found (1 warning)"),
            "{}",
            lines[5]
        );
        assert!(!text.contains('\u{1b}'));
        let all_good = render(&Report::new(vec![check("x", CheckStatus::Ok)], true), false);
        assert!(all_good.ends_with("All good: this machine is ready for the workbook.\n"));
        let down = render(
            &Report::new(vec![check("engine", CheckStatus::Fail)], false),
            false,
        );
        assert!(down.contains("cannot be reached"));
        assert!(render(&r, true).contains('\u{1b}'));
    }
}
