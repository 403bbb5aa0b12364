//! Untrusted text made inert for a terminal.
//!
//! A pack's titles, lessons and scripts, a volume's or a host file's contents, a container's
//! output and a daemon's error messages can hold bytes a terminal acts on: `ESC [2K` erases a
//! line, `CR` and cursor-up rewrite what was shown, `OSC 0` sets the window title, `OSC 52`
//! writes the clipboard, bidi overrides show text in another order than it runs. Every such
//! character is shown as a visible escape instead (`\x1b`, `\r`, `\u{202e}`), so what is on the
//! screen is what the text holds. Applied where untrusted text enters display (check verdicts,
//! daemon errors, exercise text as loaded, Markdown text, scripts shown for confirmation), never
//! at every print; the workbook's own styling is added after it, so colours keep working.
//!
//! Backslashes are not escaped: neutralising twice changes nothing.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a terminal could act on `c`: C0 controls, DEL, C1 controls (U+0080 to U+009F) and
/// the bidi embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069).
fn acts(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape(c: char, out: &mut String) {
    match c {
        '\r' => out.push_str("\\r"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn neutralise(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| acts(c) && !keep(c);
    let Some(first) = s.find(unsafe_char) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if unsafe_char(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text of any length: every control character but `\n` and `\t`, and every bidi control,
/// becomes a visible escape.
pub fn text(s: &str) -> Cow<'_, str> {
    neutralise(s, |c| c == '\n' || c == '\t')
}

/// One line (a title, a name, a command): as [`text`], and `\n` and `\t` are escaped too, so
/// the text cannot start a line of its own in a list or a confirmation.
pub fn line(s: &str) -> Cow<'_, str> {
    neutralise(s, |_| false)
}

/// [`text`] of an owned string, without a copy when there is nothing to escape.
pub fn owned(s: String) -> String {
    match text(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(clean) => clean,
    }
}

/// Whether [`text`] would change `s`.
pub fn is_inert(s: &str) -> bool {
    matches!(text(s), Cow::Borrowed(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(text("a\x1b[2K\rb\x07"), "a\\x1b[2K\\rb\\x07");
        assert_eq!(text("\x00\x7f"), "\\x00\\x7f");
        // C1: CSI (U+009B) would start a control sequence on its own in many terminals.
        assert_eq!(text("x\u{9b}2Ky\u{85}"), "x\\u{9b}2Ky\\u{85}");
        assert_eq!(
            text("\u{202e}txt.exe\u{2066}\u{2069}"),
            "\\u{202e}txt.exe\\u{2066}\\u{2069}"
        );
        assert_eq!(text("title\x1b]0;owned\x07"), "title\\x1b]0;owned\\x07");
        assert_eq!(
            text("clip\x1b]52;c;cm0gLXJmIH4K\x07"),
            "clip\\x1b]52;c;cm0gLXJmIH4K\\x07"
        );
    }

    #[test]
    fn newlines_and_tabs_stay_in_text_not_in_a_line() {
        assert_eq!(text("a\n\tb"), "a\n\tb");
        assert_eq!(line("a\n\tb"), "a\\n\\tb");
        assert_eq!(
            line("vol\x1b[2K\r  - volume scratch"),
            "vol\\x1b[2K\\r  - volume scratch"
        );
    }

    #[test]
    fn clean_text_is_not_copied_and_escaping_twice_changes_nothing() {
        let clean = "Plain text, `code`, ünïcödé, emoji 🐳, a\\x1b literal.";
        assert!(matches!(text(clean), Cow::Borrowed(_)));
        assert!(is_inert(clean));
        let once = text("a\x1b\r\u{9b}\u{202e}").into_owned();
        assert!(is_inert(&once));
        assert_eq!(text(&once), once);
        assert_eq!(owned("x\x1b".to_string()), "x\\x1b");
    }

    #[test]
    fn the_output_holds_no_byte_a_terminal_acts_on() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = line(&all);
        for c in out.chars() {
            assert!(!acts(c), "{:x} left", c as u32);
        }
    }

    #[test]
    fn daemon_messages_are_neutralised_by_describe() {
        let e = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "no such volume\x1b]0;owned\x07\r".into(),
        };
        let m = crate::docker::engine::describe("reading it", &e);
        assert!(m.contains("no such volume\\x1b]0;owned\\x07\\r"), "{m}");
        assert!(is_inert(&m));
    }
}
