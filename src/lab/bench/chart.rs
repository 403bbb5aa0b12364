//! The bar chart of a report, for the terminal.

use super::{BenchReport, KindResult, MAX_BAR};

/// A horizontal bar chart for the terminal: one bar per kind for write and one for read,
/// scaled to the fastest, labelled with MiB/s; `width` is the terminal width; `color` toggles
/// console styling.
///
/// Write bars are scaled to the fastest write and read bars to the fastest read: reads from the
/// page cache are often ten times faster, which would flatten every write bar.
pub fn chart(report: &BenchReport, width: usize, color: bool) -> String {
    let paint = |text: &str, style: console::Style| -> String {
        if color && !text.is_empty() {
            style.force_styling(true).apply_to(text).to_string()
        } else {
            text.to_string()
        }
    };
    let rounds = report.results.first().map(|r| r.rounds).unwrap_or(0);
    let mut lines = vec![paint(
        &fit(
            &format!(
                "bench-io: {} MiB written (fsync) and read back, median of {rounds} round{}",
                report.size_mb,
                if rounds == 1 { "" } else { "s" }
            ),
            width,
        ),
        console::Style::new().bold(),
    )];
    if report.results.is_empty() {
        lines.push(fit("no results", width));
    }
    let label_w = report
        .results
        .iter()
        .map(|r| r.kind.chars().count())
        .max()
        .unwrap_or(0);
    let value = |v: f64| format!("{:.1} MiB/s", clean(v));
    let value_w = report
        .results
        .iter()
        .flat_map(|r| [value(r.write_mib_s), value(r.read_mib_s)])
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    // "  label bar value"
    let fixed = 2 + label_w + 1 + 1 + value_w;
    let bar_w = width.saturating_sub(fixed).min(MAX_BAR);
    type Pick = fn(&KindResult) -> f64;
    let phases: [(&str, Pick, console::Style); 2] = [
        ("write", |r| r.write_mib_s, console::Style::new().cyan()),
        ("read", |r| r.read_mib_s, console::Style::new().green()),
    ];
    for (phase, pick, style) in phases {
        if report.results.is_empty() {
            break;
        }
        lines.push(String::new());
        lines.push(paint(&fit(phase, width), console::Style::new().bold()));
        let max = report
            .results
            .iter()
            .map(|r| clean(pick(r)))
            .fold(0.0, f64::max);
        for r in &report.results {
            let v = clean(pick(r));
            let text = value(v);
            if bar_w < 4 {
                // Too narrow for bars: label and value only, cut to the width.
                lines.push(fit(&format!("{} {text}", r.kind), width));
                continue;
            }
            let bar = bar(v, max, bar_w);
            let pad = " ".repeat(bar_w - bar.chars().count());
            lines.push(format!(
                "  {:<label_w$} {}{pad} {text:>value_w$}",
                r.kind,
                paint(&bar, style.clone()),
            ));
        }
    }
    if !report.note.is_empty() {
        lines.push(String::new());
        let wrap = width.clamp(1, 100);
        for line in textwrap::wrap(&report.note, wrap) {
            lines.push(paint(&fit(&line, width), console::Style::new().dim()));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A finite, non-negative throughput.
pub(super) fn clean(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v
    } else {
        0.0
    }
}

/// `v / max` of `width` cells in block characters, with eighths for the last cell; a positive
/// value always shows at least a sliver.
pub(super) fn bar(v: f64, max: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max <= 0.0 || v <= 0.0 || width == 0 {
        return String::new();
    }
    let eighths = ((v / max).min(1.0) * width as f64 * 8.0).round() as usize;
    let eighths = eighths.clamp(1, width * 8);
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// The first `width` characters of `s`.
pub(super) fn fit(s: &str, width: usize) -> String {
    s.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> BenchReport {
        let r = |kind: &str, w: f64, rd: f64| KindResult {
            kind: kind.to_string(),
            write_mib_s: w,
            read_mib_s: rd,
            rounds: 3,
        };
        BenchReport {
            version: 1,
            size_mb: 64,
            results: vec![
                r("container-layer", 100.0, 2000.0),
                r("named-volume", 400.0, 4000.0),
                r("bind-mount", 200.0, 1000.0),
                r("tmpfs", 800.0, 4000.0),
            ],
            note: "Reads come from the page cache; tmpfs is RAM.".to_string(),
        }
    }

    fn bar_cells(line: &str) -> f64 {
        line.chars()
            .map(|c| match c {
                '█' => 1.0,
                '▏' | '▎' | '▍' | '▌' | '▋' | '▊' | '▉' => 0.5,
                _ => 0.0,
            })
            .sum()
    }

    #[test]
    fn bars_are_scaled_to_the_fastest_of_each_phase() {
        let text = chart(&report(), 100, false);
        let row = |phase: &str, kind: &str| -> String {
            let mut lines = text.lines().skip_while(|l| *l != phase);
            lines
                .find(|l| l.trim_start().starts_with(kind))
                .unwrap()
                .to_string()
        };
        let full = bar_cells(&row("write", "tmpfs"));
        assert!(full >= 10.0, "{text}");
        assert_eq!(bar_cells(&row("write", "named-volume")), full / 2.0);
        assert_eq!(bar_cells(&row("write", "bind-mount")), full / 4.0);
        assert_eq!(bar_cells(&row("write", "container-layer")), full / 8.0);
        assert_eq!(bar_cells(&row("read", "tmpfs")), full);
        assert_eq!(bar_cells(&row("read", "named-volume")), full);
        assert_eq!(bar_cells(&row("read", "bind-mount")), full / 4.0);
        assert!(row("write", "tmpfs").ends_with("800.0 MiB/s"));
        assert!(row("read", "bind-mount").ends_with("1000.0 MiB/s"));
    }

    #[test]
    fn never_wider_than_the_width() {
        for width in [0, 1, 5, 20, 33, 34, 40, 80, 200] {
            for color in [false, true] {
                let text = chart(&report(), width, color);
                for line in text.lines() {
                    assert!(
                        console::measure_text_width(line) <= width,
                        "width {width}: {line:?}"
                    );
                }
            }
        }
        // Wide terminals do not get absurd bars.
        let wide = chart(&report(), 500, false);
        assert!(wide
            .lines()
            .all(|l| l.chars().count() <= 2 + 15 + 1 + MAX_BAR + 1 + 13));
    }

    #[test]
    fn color_only_when_asked() {
        let plain = chart(&report(), 80, false);
        assert!(!plain.contains('\x1b'));
        let colored = chart(&report(), 80, true);
        assert!(colored.contains('\x1b'));
        assert_eq!(console::strip_ansi_codes(&colored), plain);
    }

    #[test]
    fn slow_and_broken_values_do_not_break_the_chart() {
        let mut r = report();
        r.results[0].write_mib_s = 0.001;
        r.results[1].write_mib_s = f64::NAN;
        r.results[2].read_mib_s = f64::INFINITY;
        let text = chart(&r, 60, false);
        let layer = text
            .lines()
            .find(|l| l.trim_start().starts_with("container-layer"))
            .unwrap();
        assert!(bar_cells(layer) > 0.0, "a positive value shows a sliver");
        assert!(chart(
            &BenchReport {
                results: vec![],
                ..r
            },
            40,
            false
        )
        .contains("no results"));
    }
}
