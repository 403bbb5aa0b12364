//! A lesson's Markdown split into parts: the introduction, one part per exercise step (each
//! begins with `<!-- workbook:step ID -->`), and the closing part after `<!-- workbook:end -->`
//! (common mistakes, recap). The markers are HTML comments, invisible in the book.
//!
//! A `{{#workbook-steps SLUG}}` line is a directive of the book's preprocessor (`src/book.rs`),
//! which expands it into the task boxes of that exercise; the terminal shows the steps from the
//! exercise data itself, so the parser drops such lines.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lesson {
    pub intro: String,
    pub steps: Vec<(String, String)>,
    pub outro: String,
}

/// The line that begins the part of a step: `<!-- workbook:step ID -->` (up to the id).
pub const STEP_MARKER: &str = "<!-- workbook:step ";
/// The line that begins the closing part.
pub const END_MARKER: &str = "<!-- workbook:end -->";
/// A book directive line (`{{#workbook-steps SLUG}}`): never shown in the terminal.
pub const STEPS_DIRECTIVE: &str = "{{#workbook-steps";

impl Lesson {
    pub fn parse(markdown: &str) -> Lesson {
        let mut lesson = Lesson::default();
        // 0 intro, 1 a step, 2 outro
        let mut section = 0;
        for line in markdown.split_inclusive('\n') {
            let trimmed = line.trim();
            if let Some(rest) = trimmed.strip_prefix(STEP_MARKER) {
                let id = rest.trim_end_matches("-->").trim().to_string();
                lesson.steps.push((id, String::new()));
                section = 1;
                continue;
            }
            if trimmed == END_MARKER {
                section = 2;
                continue;
            }
            if trimmed.starts_with(STEPS_DIRECTIVE) {
                continue;
            }
            match section {
                0 => lesson.intro.push_str(line),
                1 => {
                    if let Some((_, text)) = lesson.steps.last_mut() {
                        text.push_str(line);
                    }
                }
                _ => lesson.outro.push_str(line),
            }
        }
        lesson
    }

    /// The part written for step `id` (empty when the lesson has none).
    pub fn step(&self, id: &str) -> &str {
        self.steps
            .iter()
            .find(|(s, _)| s == id)
            .map(|(_, t)| t.as_str())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_markers() {
        let md = "# T\nintro\n<!-- workbook:step a -->\n## A\nalpha\n<!-- workbook:step b -->\nbeta\n<!-- workbook:end -->\n## Recap\n";
        let l = Lesson::parse(md);
        assert_eq!(l.intro, "# T\nintro\n");
        assert_eq!(l.step("a"), "## A\nalpha\n");
        assert_eq!(l.step("b"), "beta\n");
        assert_eq!(l.step("c"), "");
        assert_eq!(l.outro, "## Recap\n");
    }

    #[test]
    fn drops_book_directives() {
        let md = "# T\n{{#workbook-steps 07-backup-restore}}\nintro\n<!-- workbook:step a -->\nalpha\n  {{#workbook-steps 01-named-volumes}}\n<!-- workbook:end -->\n{{#workbook-steps x}}\nrecap\n";
        let l = Lesson::parse(md);
        assert_eq!(l.intro, "# T\nintro\n");
        assert_eq!(l.step("a"), "alpha\n");
        assert_eq!(l.outro, "recap\n");
    }
}
