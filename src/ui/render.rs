//! Markdown for the terminal: renders CommonMark lesson text as wrapped, optionally styled lines.
//!
//! Styling is applied word by word, so a wrapped line never leaves an escape sequence open, and
//! widths are always measured without the escape codes.

use console::{measure_text_width, Style as Ansi};
use pulldown_cmark::HeadingLevel::{self, H1, H2};
use pulldown_cmark::{Alignment, CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use textwrap::{WordSeparator, WordSplitter, WrapAlgorithm};

/// Narrowest text column used for wrapping, however deep lists and quotes are nested.
const MIN_TEXT_WIDTH: usize = 10;

/// Prose is wrapped at most this wide, however wide the terminal: longer lines are hard to read.
/// Tables use the whole width.
pub const PROSE_WIDTH: usize = 100;

/// The widest terminal believed (a larger size is a misreport).
const MAX_WIDTH: usize = 1000;

/// Options for rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// The terminal's width, in columns: no line is wider. Prose is wrapped at
    /// [`PROSE_WIDTH`] within it; a table may use all of it.
    pub width: usize,
    /// Whether to emit ANSI styling (bold, colors, dim gutters).
    pub color: bool,
}

impl Style {
    /// Width of stdout's terminal, else `COLUMNS` (as shells export it), else 100; at least 40.
    /// Color when `console::colors_enabled()` (which honours NO_COLOR / CLICOLOR and non-tty).
    pub fn for_stdout() -> Style {
        let columns = || std::env::var("COLUMNS").ok()?.trim().parse::<usize>().ok();
        let width = console::Term::stdout()
            .size_checked()
            .map(|(_, cols)| usize::from(cols))
            .or_else(columns)
            .filter(|w| *w > 0)
            .unwrap_or(100);
        Style {
            width: width.clamp(40, MAX_WIDTH),
            color: console::colors_enabled(),
        }
    }
}

/// Renders Markdown to text for the terminal.
///
/// Every output line ends with `\n`; blocks are separated by one blank line, there are never two
/// blank lines in a row and none at the end. HTML is dropped. Never panics.
/// Stands for a space inside a code span while text is wrapped (a private-use character).
const KEEP: char = '\u{E000}';

/// What the links stack holds for an image (its text is the description, not a link's).
const IMAGE: &str = "\0image";

pub fn render(markdown: &str, style: &Style) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events = Parser::new_ext(markdown, options).peekable();
    let mut renderer = Renderer {
        width: style.width.min(PROSE_WIDTH),
        term: style.width,
        color: style.color,
        ..Renderer::default()
    };
    while let Some(event) = events.next() {
        let paragraph_next = matches!(events.peek(), Some(Event::Start(Tag::Paragraph)));
        renderer.event(event, paragraph_next);
    }
    renderer.finish()
}

/// An open container block; its prefix is repeated on every line inside it.
enum Container {
    /// A block quote.
    Quote,
    /// A list: the next number if ordered, and whether it is tight (`None` before any item).
    List(Option<u64>, Option<bool>),
    /// A list item: its marker, and whether the marker is still to be shown.
    Item(String, bool),
}

/// Event-driven renderer state.
#[derive(Default)]
struct Renderer {
    /// The width prose is wrapped at.
    width: usize,
    /// The terminal's width: a table may use all of it.
    term: usize,
    color: bool,
    lines: Vec<String>,
    stack: Vec<Container>,
    /// A blank line is due before the next emitted line.
    gap: bool,
    /// Styled inline text of the current paragraph, heading, tight list item or table cell.
    inline: String,
    bold: usize,
    italic: usize,
    strike: usize,
    heading: Option<HeadingLevel>,
    /// Open links and images: destination and the plain text seen so far.
    links: Vec<(String, String)>,
    /// The open code block: whether it is a shell session, and its text.
    code: Option<(bool, String)>,
    /// The code block is a command's output (```text): dimmed, apart from the commands.
    code_is_output: bool,
    /// The open table: column alignments and rendered cells, header row first.
    table: Option<(Vec<Alignment>, Vec<Vec<String>>)>,
}

impl Renderer {
    fn event(&mut self, event: Event<'_>, paragraph_next: bool) {
        match event {
            Event::Start(tag) => self.start(tag, paragraph_next),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => match &mut self.code {
                Some((_, code)) => code.push_str(&text),
                None => self.text(&text, false),
            },
            Event::Code(text) => self.text(&text, true),
            Event::SoftBreak => self.text(" ", false),
            Event::HardBreak => self.inline.push('\n'),
            Event::Rule => {
                self.flush_inline();
                self.gap = true;
                let rule = self.paint(Ansi::new().dim(), &"─".repeat(self.avail()));
                self.emit(&rule);
                self.gap = true;
            }
            // HTML (blocks and inline) is dropped; the other events need extensions not enabled.
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>, paragraph_next: bool) {
        use Tag::{Emphasis, Image, Link, Strikethrough, Strong};
        if !matches!(
            tag,
            Emphasis | Strong | Strikethrough | Link { .. } | Image { .. }
        ) {
            self.flush_inline(); // a block starts: this ends the text of a tight list item
        }
        match tag {
            Tag::Heading { level, .. } => self.heading = Some(level),
            Tag::BlockQuote(_) => self.stack.push(Container::Quote),
            Tag::CodeBlock(kind) => {
                let info = match &kind {
                    CodeBlockKind::Fenced(info) => info.to_ascii_lowercase(),
                    CodeBlockKind::Indented => String::new(),
                };
                let lang = info.split([' ', '\t', ',']).next().unwrap_or("");
                let shell = ["console", "shell", "shell-session", "sh", "bash"].contains(&lang);
                self.code_is_output = lang == "text";
                self.code = Some((shell, String::new()));
            }
            Tag::List(next) => self.stack.push(Container::List(next, None)),
            Tag::Item => self.start_item(paragraph_next),
            Tag::Table(aligns) => self.table = Some((aligns, Vec::new())),
            Tag::TableHead | Tag::TableRow => {
                self.bold += usize::from(matches!(tag, Tag::TableHead));
                if let Some((_, rows)) = &mut self.table {
                    rows.push(Vec::new());
                }
            }
            Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Strikethrough => {
                self.strike += 1;
                self.strike_marks();
            }
            Tag::Link { dest_url, .. } => {
                self.links.push((dest_url.to_string(), String::new()));
            }
            // A picture cannot be shown here: its description stands in for it, marked as
            // one, without a path that would look like a broken link.
            Tag::Image { .. } => {
                self.text("[diagram: ", false);
                self.links.push((IMAGE.to_string(), String::new()));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        use TagEnd::{BlockQuote, List, Paragraph};
        if matches!(tag, Paragraph | BlockQuote(_) | List(_)) {
            self.flush_inline();
            self.gap = true;
        }
        match tag {
            TagEnd::Heading(level) => self.end_heading(level),
            TagEnd::BlockQuote(_) | TagEnd::List(_) => _ = self.stack.pop(),
            TagEnd::Item => {
                self.flush_inline();
                if let Some(Container::Item(_, true)) = self.stack.last() {
                    self.emit(""); // an empty item still shows its marker
                }
                self.stack.pop();
            }
            TagEnd::CodeBlock => self.end_code(),
            TagEnd::Table => self.end_table(),
            TagEnd::TableHead => self.bold = self.bold.saturating_sub(1),
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline).trim().to_string();
                if let Some(row) = self.table.as_mut().and_then(|(_, rows)| rows.last_mut()) {
                    row.push(cell);
                }
            }
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Strikethrough => {
                self.strike = self.strike.saturating_sub(1);
                self.strike_marks();
            }
            TagEnd::Image => {
                self.links.pop();
                self.text(" (in the book)]", false);
            }
            TagEnd::Link => {
                let same = |(url, text): &(String, String)| {
                    url.is_empty() || url == text || url.strip_prefix("mailto:") == Some(text)
                };
                if let Some((url, _)) = self.links.pop().filter(|link| !same(link)) {
                    self.text(&format!(" ({url})"), false);
                }
            }
            _ => {}
        }
    }

    fn start_item(&mut self, paragraph_next: bool) {
        let mut marker = "• ".to_string();
        if let Some(Container::List(next, tight)) = self.stack.last_mut() {
            match tight {
                // pulldown-cmark wraps the content of every item of a loose list in paragraphs.
                None => *tight = Some(!paragraph_next),
                Some(true) => self.gap = false,
                Some(false) => {}
            }
            if let Some(n) = next {
                marker = format!("{n}. ");
                *n = n.saturating_add(1);
            }
        }
        self.stack.push(Container::Item(marker, true));
    }

    /// Without color, strikethrough keeps its `~~` marks.
    fn strike_marks(&mut self) {
        if !self.color {
            self.inline.push_str("~~");
        }
    }

    /// Appends inline text, styled word by word according to the open inline tags.
    fn text(&mut self, text: &str, code: bool) {
        // Untrusted text (a pack's lesson): what a terminal would act on is shown as an
        // escape before any styling of ours is added around it.
        let clean = crate::ui::safe_text::text(text).replace(char::is_whitespace, " ");
        for (_, plain) in &mut self.links {
            plain.push_str(&clean);
        }
        let mut text = clean.as_str();
        if self.inline.is_empty() || self.inline.ends_with([' ', '\n']) {
            text = text.trim_start_matches(' ');
        }
        let ticked;
        if code && !self.color {
            ticked = format!("`{text}`");
            text = &ticked;
        }
        let h = self.heading;
        let style = [
            (self.bold > 0 || h.is_some(), Ansi::bold as fn(Ansi) -> Ansi),
            (matches!(h, Some(H1 | H2)), Ansi::cyan),
            (h == Some(H1), Ansi::underlined),
            (self.italic > 0, Ansi::italic),
            (self.strike > 0, Ansi::strikethrough),
            (code, Ansi::yellow),
        ];
        let start = Ansi::new().force_styling(self.color);
        let style = (style.into_iter().filter(|(on, _)| *on)).fold(start, |s, (_, f)| f(s));
        // A code span that fits on a line is never broken: a command split across lines
        // cannot be copied. Its spaces are held by a placeholder until wrapping is done.
        if code && console::measure_text_width(text) <= self.avail() {
            let joined = text.replace(' ', &KEEP.to_string());
            self.inline.push_str(&style.apply_to(joined).to_string());
            return;
        }
        for (i, word) in text.split(' ').enumerate() {
            if i > 0 {
                self.inline.push(' ');
            }
            if !word.is_empty() {
                self.inline.push_str(&style.apply_to(word).to_string());
            }
        }
    }

    fn end_heading(&mut self, level: HeadingLevel) {
        self.heading = None;
        let text = std::mem::take(&mut self.inline);
        let lines = self.wrap(text.trim(), "");
        if text.trim().is_empty() {
            return;
        }
        self.gap = true;
        if level == H1 && self.lines.is_empty() {
            self.lines.push(String::new()); // H1 is preceded by a blank line, even at the top
        }
        for line in &lines {
            self.emit(line);
        }
        if !self.color && level <= H2 {
            let width = lines.iter().map(|l| measure_text_width(l)).max();
            let underline = if level == H1 { "=" } else { "-" };
            self.emit(&underline.repeat(width.unwrap_or(0)));
        }
        self.gap = true;
    }

    fn end_code(&mut self) {
        let Some((shell, text)) = self.code.take() else {
            return;
        };
        // Set apart by indentation and colour only: a gutter character would be copied with
        // the command.
        let indent = "    ";
        // A block with `$ ` prompts is a transcript: the other lines are output.
        let transcript = shell && text.lines().any(|l| l.starts_with("$ "));
        for line in text.lines() {
            let mut line = crate::ui::safe_text::text(&line.replace('\t', "    ")).into_owned();
            if shell && line.starts_with("$ ") {
                line = self.paint(Ansi::new().bold(), &line);
            } else if shell && !transcript {
                line = self.paint(Ansi::new().cyan(), &line);
            } else if self.code_is_output || transcript {
                line = self.paint(Ansi::new().dim(), &line);
            }
            self.emit(&format!("{indent}{line}"));
        }
        self.code_is_output = false;
        self.gap = true;
    }

    /// A table as wide as the terminal allows: its columns at their natural widths when they fit;
    /// else the widest columns narrowed and their cells wrapped (never inside a word or a code
    /// span); else, when even that cannot fit, one record per row (`Header: value`, the value
    /// alone under an empty header).
    fn end_table(&mut self) {
        let Some((aligns, rows)) = self.table.take() else {
            return;
        };
        self.gap = true;
        let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
        let Some((header, body)) = rows.split_first().filter(|_| columns > 0) else {
            return;
        };
        let cell = |row: &Vec<String>, i: usize| row.get(i).map_or("", String::as_str).to_string();
        let mut widths = vec![0; columns];
        let mut narrowest = vec![1; columns];
        for row in &rows {
            for i in 0..columns {
                let text = cell(row, i);
                widths[i] = widths[i].max(measure_text_width(&text));
                let longest_word = text.split(' ').map(measure_text_width).max().unwrap_or(0);
                narrowest[i] = narrowest[i].max(longest_word);
            }
        }
        let gaps = 2 * (columns - 1);
        let avail = self.table_avail();
        if narrowest.iter().sum::<usize>() + gaps > avail {
            return self.table_records(header, body);
        }
        // Narrow the widest column that can still give a column, until the table fits.
        while widths.iter().sum::<usize>() + gaps > avail {
            let Some(i) = (0..columns)
                .filter(|&i| widths[i] > narrowest[i])
                .max_by_key(|&i| widths[i])
            else {
                break;
            };
            widths[i] -= 1;
        }
        let total = widths.iter().sum::<usize>() + gaps;
        let wrapped = |row: &Vec<String>| -> Vec<Vec<String>> {
            (0..columns)
                .map(|i| {
                    let options = textwrap::Options::new(widths[i].max(1))
                        .word_separator(WordSeparator::AsciiSpace)
                        .word_splitter(WordSplitter::NoHyphenation)
                        .wrap_algorithm(WrapAlgorithm::FirstFit)
                        .break_words(false);
                    let text = cell(row, i);
                    textwrap::wrap(&text, options)
                        .into_iter()
                        .map(|l| l.into_owned())
                        .collect()
                })
                .collect()
        };
        let cells: Vec<Vec<Vec<String>>> = rows.iter().map(wrapped).collect();
        // Rows of more than one line are set apart by a blank line.
        let tall = cells[1..].iter().any(|row| row.iter().any(|c| c.len() > 1));
        for (r, row) in cells.iter().enumerate() {
            if tall && r > 1 {
                self.gap = true;
            }
            let height = row.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for line in 0..height {
                let parts: Vec<String> = (0..columns)
                    .map(|i| pad(row[i].get(line), widths[i], aligns.get(i)))
                    .collect();
                self.emit(&parts.join("  "));
            }
            if r == 0 {
                let rule = self.paint(Ansi::new().dim(), &"─".repeat(total));
                self.emit(&rule);
            }
        }
        self.gap = true;
    }

    /// One record per row, for a table that cannot fit even with its cells wrapped.
    fn table_records(&mut self, header: &[String], body: &[Vec<String>]) {
        if body.is_empty() {
            for line in self.wrap(&header.join("  "), "") {
                self.emit(&line);
            }
        }
        for row in body {
            self.gap = true;
            for (i, head) in header.iter().enumerate() {
                let value = row.get(i).map_or("", String::as_str);
                // An empty header (a row-label column) shows the value alone, as the title.
                let text = if console::strip_ansi_codes(head).trim().is_empty() {
                    value.to_string()
                } else {
                    format!("{head}: {value}")
                };
                if text.trim().is_empty() {
                    continue;
                }
                for line in self.wrap(&text, "  ") {
                    self.emit(&line);
                }
            }
        }
        self.gap = true;
    }

    /// Wraps the current inline buffer as one block, if it holds anything.
    fn flush_inline(&mut self) {
        let text = std::mem::take(&mut self.inline);
        if !text.trim().is_empty() {
            for line in self.wrap(text.trim(), "") {
                self.emit(&line);
            }
        }
    }

    /// Wraps styled text to the space left by the open containers.
    fn wrap(&self, text: &str, indent: &str) -> Vec<String> {
        let options = textwrap::Options::new(self.avail())
            .word_separator(WordSeparator::AsciiSpace)
            .word_splitter(WordSplitter::NoHyphenation)
            .wrap_algorithm(WrapAlgorithm::FirstFit)
            .subsequent_indent(indent);
        let lines = textwrap::wrap(text, options);
        lines.into_iter().map(|l| l.replace(KEEP, " ")).collect()
    }

    /// Columns a table may use inside the open containers: the terminal's whole width.
    fn table_avail(&self) -> usize {
        let indent = measure_text_width(&self.prefix(false));
        self.term.saturating_sub(indent).max(MIN_TEXT_WIDTH)
    }

    /// Columns available for prose inside the open containers.
    fn avail(&self) -> usize {
        let indent = measure_text_width(&self.prefix(false));
        self.width.saturating_sub(indent).max(MIN_TEXT_WIDTH)
    }

    /// The prefix of the open containers; `first` shows the item markers not shown yet.
    fn prefix(&self, first: bool) -> String {
        let bar = self.paint(Ansi::new().dim(), "▌");
        (self.stack.iter())
            .map(|container| match container {
                Container::Quote => format!("  {bar} "),
                Container::Item(marker, true) if first => marker.clone(),
                Container::Item(marker, _) => " ".repeat(measure_text_width(marker)),
                Container::List(..) => String::new(),
            })
            .collect()
    }

    /// Emits one line inside the open containers, after a pending blank line.
    fn emit(&mut self, content: &str) {
        if std::mem::take(&mut self.gap) && self.lines.last().is_some_and(|l| !is_blank(l)) {
            self.lines.push(self.prefix(false).trim_end().to_string());
        }
        // A code span's spaces are held by a placeholder until here (a table cell's too).
        let line = format!("{}{content}", self.prefix(true)).replace(KEEP, " ");
        self.lines.push(line.trim_end().to_string());
        for container in &mut self.stack {
            if let Container::Item(_, fresh) = container {
                *fresh = false;
            }
        }
    }

    fn paint(&self, style: Ansi, text: &str) -> String {
        style.force_styling(self.color).apply_to(text).to_string()
    }

    /// Joins the lines, with no blank line repeated and none at the end.
    fn finish(mut self) -> String {
        for line in &mut self.lines {
            if is_blank(line) {
                line.clear();
            }
        }
        self.lines.dedup_by(|a, b| a.is_empty() && b.is_empty());
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Whether a line shows nothing but whitespace.
fn is_blank(line: &str) -> bool {
    console::strip_ansi_codes(line).trim().is_empty()
}

/// Pads a cell to `width` display columns according to the column alignment.
fn pad(cell: Option<&String>, width: usize, align: Option<&Alignment>) -> String {
    let cell = cell.map_or("", String::as_str);
    let fill = width.saturating_sub(measure_text_width(cell));
    let (left, right) = match align {
        Some(Alignment::Right) => (fill, 0),
        Some(Alignment::Center) => (fill / 2, fill - fill / 2),
        _ => (0, fill),
    };
    format!("{}{cell}{}", " ".repeat(left), " ".repeat(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style {
        width: 40,
        color: false,
    };
    const COLOR: Style = Style {
        width: 40,
        color: true,
    };

    const PROSE: &str = "An image is read-only. When you start a container, Docker stacks a \
        thin, empty, **writable layer** on top of it, and every file the container creates \
        or changes lands in that _layer_. The layer belongs to exactly one container, and \
        `docker rm` throws it away.";

    fn assert_fits(out: &str, width: usize) {
        for line in out.lines() {
            assert!(measure_text_width(line) <= width, "too wide: {line:?}");
        }
    }

    #[test]
    fn headings_plain() {
        let out = render(
            "# Named volumes\n\n## Concepts\n\n### Detail\n\nText.",
            &PLAIN,
        );
        assert_eq!(
            out,
            "\nNamed volumes\n=============\n\nConcepts\n--------\n\nDetail\n\nText.\n"
        );
    }

    #[test]
    fn headings_colored() {
        let out = render("# Title\n\n## Sub\n\n### Third", &COLOR);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "");
        assert!(lines[1].contains("\x1b[36m") && lines[1].contains("\x1b[1m"));
        assert!(lines[1].contains("\x1b[4m"));
        assert!(lines[3].contains("\x1b[36m") && !lines[3].contains("\x1b[4m"));
        assert!(lines[5].contains("\x1b[1m") && !lines[5].contains("\x1b[36m"));
        assert!(!out.contains("===") && !out.contains("---"));
    }

    #[test]
    fn prose_wraps_at_width() {
        for width in [40, 57, 80] {
            for color in [false, true] {
                let out = render(PROSE, &Style { width, color });
                assert_fits(&out, width);
                assert!(out.lines().count() > 1);
            }
        }
    }

    #[test]
    fn escape_codes_do_not_count_when_wrapping() {
        let md = "Some **bold words** and _italic ones_ that **keep going on and on** until the \
            text has to wrap around _several_ times at this width.";
        let plain = render(md, &PLAIN);
        let colored = render(md, &COLOR);
        assert!(colored.contains('\x1b'));
        assert_eq!(console::strip_ansi_codes(&colored), plain);
    }

    #[test]
    fn nested_lists_and_continuations() {
        let out = render("- a\n  - b\n    - c\n- d\n\n1. one\n2. two", &PLAIN);
        assert_eq!(out, "• a\n  • b\n    • c\n• d\n\n1. one\n2. two\n");
        let out = render(&format!("- {PROSE}\n  - {PROSE}"), &PLAIN);
        assert_fits(&out, 40);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("• ")
                && lines[1].starts_with("  ")
                && !lines[1].starts_with("   ")
        );
        let nested = lines.iter().position(|l| l.starts_with("  • ")).unwrap();
        assert!(lines[nested + 1].starts_with("    ") && !lines[nested + 1].starts_with("     "));
    }

    #[test]
    fn inline_code_is_not_split_across_lines() {
        let style = Style {
            width: 60,
            color: false,
        };
        let md =
            "To look inside, run this: `docker run --rm -v ml-data:/data workbook/tools` and see.";
        let out = render(md, &style);
        assert!(
            out.contains("`docker run --rm -v ml-data:/data workbook/tools`"),
            "{out}"
        );
        assert!(!out.contains('\u{E000}'));
    }

    #[test]
    fn code_block_is_not_wrapped() {
        let long =
            "docker run -d -v checkpoints:/workspace/checkpoints -v logs:/workspace/logs img";
        let out = render(&format!("```sh\n{long}\n```\n\n    indented"), &PLAIN);
        assert_eq!(out, format!("    {long}\n\n    indented\n"));
        assert!(
            !out.contains('│'),
            "no gutter to be copied with the command"
        );
        let out = render("```console\n$ ls\nfile\n```", &COLOR);
        assert!(out.contains("\x1b[1m$ ls\x1b[0m") && !out.contains("console"));
        assert!(!out.lines().nth(1).unwrap().contains("\x1b[1m"));
    }

    #[test]
    fn a_picture_is_its_description_never_a_broken_link() {
        let out = render(
            "Look:\n\n![One models volume, two readers](diagrams/shared-models.svg)\n",
            &PLAIN,
        );
        let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("[diagram: One models volume, two readers (in the book)]"),
            "{out}"
        );
        assert!(!out.contains(".svg"), "{out}");
    }

    #[test]
    fn html_is_dropped() {
        let md = "Intro.\n\n<!-- workbook:step create-volume -->\n\n1. Step <!-- x --> one\n\n<!-- workbook:end -->\n";
        let out = render(md, &PLAIN);
        assert_eq!(out, "Intro.\n\n1. Step one\n");
        assert_eq!(render("<!-- workbook:end -->", &COLOR), "");
    }

    #[test]
    fn links_quotes_and_rules() {
        let out = render("See [docs](https://d.io) or <https://x.io>.", &PLAIN);
        assert_eq!(out, "See docs (https://d.io) or https://x.io.\n");
        assert_eq!(render("> a\n>\n> b", &PLAIN), "  ▌ a\n  ▌\n  ▌ b\n");
        assert_eq!(render("---", &PLAIN), format!("{}\n", "─".repeat(40)));
        assert_eq!(render("Use `ls` now", &PLAIN), "Use `ls` now\n");
    }

    #[test]
    fn table_alignment() {
        let md = "| a | bb | n |\n|---|---|--:|\n| ccc | d | 7 |\n| e |";
        let out = render(md, &PLAIN);
        assert_eq!(out, "a    bb  n\n──────────\nccc  d   7\ne\n");
        let colored = render(md, &COLOR);
        assert!(colored.lines().next().unwrap().contains("\x1b[1m"));
    }

    #[test]
    fn a_wide_table_wraps_its_cells_within_the_width() {
        let md = "| Command | Engine 23 and newer |\n|---|---|\n\
            | `docker volume prune` | removes unused anonymous volumes only, never named ones |\n\
            | `prune -a` | removes every unused volume |";
        let out = render(md, &PLAIN);
        assert_fits(&out, 40);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Command                Engine 23 and");
        assert_eq!(lines[1], "                       newer");
        assert!(lines[2].starts_with("──────"));
        // A code span is never broken; the cell beside it wraps in its column.
        assert_eq!(lines[3], "`docker volume prune`  removes unused");
        assert_eq!(lines[4], "                       anonymous volumes");
        assert!(
            out.contains("\n\n`prune -a`             removes every"),
            "{out}"
        );
        assert!(!out.contains("Command:"), "{out}");
    }

    #[test]
    fn a_table_uses_the_terminal_width_beyond_the_prose_width() {
        let long = "word ".repeat(30);
        let md = format!(
            "{long}\n\n| a | b |\n|---|---|\n| {} | {} |",
            "x".repeat(70),
            "y".repeat(70)
        );
        let out = render(
            &md,
            &Style {
                width: 160,
                color: false,
            },
        );
        // Prose stays at 100 columns; the table's row is one line of 142.
        assert!(out
            .lines()
            .take_while(|l| !l.is_empty())
            .all(|l| l.len() <= PROSE_WIDTH));
        let row = format!("{}  {}", "x".repeat(70), "y".repeat(70));
        assert!(out.lines().any(|l| l == row), "{out}");
        // On a 100-column terminal the same cells cannot be narrowed: one record per row.
        let out = render(
            &md,
            &Style {
                width: 100,
                color: false,
            },
        );
        assert!(out.contains(&format!("a: {}", "x".repeat(70))), "{out}");
        assert_fits(&out, 100);
    }

    #[test]
    fn a_table_too_wide_for_wrapping_is_one_record_per_row_without_stray_colons() {
        // Lesson 03's table: its first column has no header.
        let md = "| | Named volume | Bind mount | tmpfs |\n|---|---|---|---|\n\
            | Where the data lives | Docker's area on disk | a host folder you choose | RAM of the host |";
        let out = render(
            md,
            &Style {
                width: 24,
                color: false,
            },
        );
        assert!(
            out.starts_with("Where the data lives\nNamed volume: Docker's\n  area on disk\n"),
            "{out}"
        );
        assert!(!out.contains(": Where"), "{out}");
        let narrow = render("| a | b | c | d | e | f | g | h | i | j | k | l | m | n |\n|-|-|-|-|-|-|-|-|-|-|-|-|-|-|\n| abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef | abcdef |", &PLAIN);
        assert!(narrow.starts_with("a: abcdef\nb: abcdef\n"), "{narrow}");
        assert_fits(&narrow, 40);
    }

    #[test]
    fn a_code_span_in_a_table_keeps_its_spaces() {
        let md = "| Started with | RW |\n|---|---|\n| `-v \"$(pwd)/data:/app/data\"` | `true` |";
        let out = render(
            md,
            &Style {
                width: 80,
                color: false,
            },
        );
        assert!(
            out.contains("`-v \"$(pwd)/data:/app/data\"`  `true`"),
            "{out}"
        );
        assert!(!out.contains(KEEP), "{out:?}");
        let colored = render(
            md,
            &Style {
                width: 80,
                color: true,
            },
        );
        assert!(
            !colored.contains(KEEP) && colored.contains("-v \"$(pwd)"),
            "{colored:?}"
        );
    }

    #[test]
    fn plain_has_no_escapes_and_blank_lines_are_tidy() {
        let md = format!(
            "# T\n\n\n{PROSE}\n\n> quote **b** ~~s~~\n\n- x\n\n  y\n\n```\ncode\n```\n\n|a|b|\n|-|-|\n|1|2|\n\n---\n\n<div>\n\n</div>\n\n"
        );
        let out = render(&md, &PLAIN);
        assert!(!out.contains('\x1b'));
        assert!(!out.contains("\n\n\n") && !out.ends_with("\n\n"));
        assert!(render(&md, &COLOR).contains('\x1b'));
        assert_eq!(render("", &PLAIN), "");
    }

    #[test]
    fn escape_sequences_in_markdown_are_shown_not_acted_on() {
        let md = "# T\x1b]0;owned\x07\n\nIntro \x1b[31mred\x1b[0m \u{202e}txt, `c\x1b[2K`.\n\n\
                  ```sh\nls\x1b[1A\u{9b}2K\n```\n\n| a\x07 |\n|---|\n| b\x1b |\n";
        for style in [PLAIN, COLOR] {
            let out = render(md, &style);
            let plain = console::strip_ansi_codes(&out);
            assert!(plain.contains("T\\x1b]0;owned\\x07"), "{plain}");
            assert!(
                plain.contains("Intro \\x1b[31mred\\x1b[0m \\u{202e}txt"),
                "{plain}"
            );
            assert!(plain.contains("c\\x1b[2K"), "{plain}");
            assert!(plain.contains("ls\\x1b[1A\\u{9b}2K"), "{plain}");
            assert!(
                plain.contains("a\\x07") && plain.contains("b\\x1b"),
                "{plain}"
            );
            // Only the renderer's own styling is left, when asked for.
            assert!(crate::ui::safe_text::is_inert(&plain), "{plain:?}");
            assert_eq!(out.contains('\x1b'), style.color);
        }
    }

    #[test]
    fn style_for_stdout_is_within_bounds() {
        let style = Style::for_stdout();
        assert!((40..=MAX_WIDTH).contains(&style.width));
    }

    #[test]
    fn fuzz_never_panics() {
        const PIECES: [&str; 16] = [
            "# ",
            "* ",
            "1. ",
            "```",
            "> ",
            "|a|b|\n|-|-|\n",
            "**",
            "_",
            "`",
            "<!-- x -->",
            "\n",
            "  ",
            "word ",
            "[l](u)",
            "---\n",
            "~~",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..2000 {
            let len = (next() % 40) as usize;
            let md: String = (0..len).map(|_| PIECES[(next() % 16) as usize]).collect();
            let width = 1 + (next() % 120) as usize;
            let out = render(
                &md,
                &Style {
                    width,
                    color: i % 2 == 0,
                },
            );
            assert!(!out.contains("\n\n\n") && !out.ends_with("\n\n"), "{md:?}");
            if i % 2 == 1 {
                assert!(!out.contains('\x1b'), "{md:?}");
            }
        }
        let deep = "> - ".repeat(500) + "x";
        render(&deep, &COLOR);
        render(&"- ".repeat(1000), &PLAIN);
    }
}
