//! Writing to stdout without panicking when the reader goes away (`workbook list | head`), and
//! paging long output (a lesson) when stdout is a terminal.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};

thread_local! {
    /// Output held back for the pager while a [`Paged`] guard lives.
    static HELD: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Writes `text` to stdout; a closed pipe ends the process quietly with success.
pub fn out(text: &str) {
    let held = HELD.with(|h| {
        if let Some(buf) = h.borrow_mut().as_mut() {
            buf.push_str(text);
            true
        } else {
            false
        }
    });
    if !held {
        write_stdout(text);
    }
}

fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // By design: the reader is gone (`workbook list | head`), so the command ends
            // here, quietly, wherever it was writing (clippy.toml disallows it elsewhere).
            #[allow(clippy::disallowed_methods)]
            std::process::exit(0);
        }
    }
}

/// `out` with a newline.
pub fn outln(text: &str) {
    out(&format!("{text}\n"));
}

/// Pretty JSON on stdout.
pub fn json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => outln(&s),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

/// While it lives, stdout is held; when it drops, the text goes through a pager if stdout is a
/// terminal and the text is taller than the screen (`$PAGER`, else `less -R -F -X`; `PAGER=`
/// or `NO_PAGER` turns it off), and straight to stdout otherwise.
pub struct Paged(());

impl Paged {
    pub fn start() -> Paged {
        HELD.with(|h| *h.borrow_mut() = Some(String::new()));
        Paged(())
    }
}

impl Drop for Paged {
    fn drop(&mut self) {
        let text = HELD.with(|h| h.borrow_mut().take()).unwrap_or_default();
        if !pager_wanted(&text) || !through_pager(&text) {
            write_stdout(&text);
        }
    }
}

fn pager_wanted(text: &str) -> bool {
    if !std::io::stdout().is_terminal() || std::env::var_os("NO_PAGER").is_some() {
        return false;
    }
    let rows = console::Term::stdout().size().0 as usize;
    rows > 0 && text.lines().count() + 1 > rows
}

/// True when a pager showed the text.
fn through_pager(text: &str) -> bool {
    let pager = match std::env::var("PAGER") {
        Ok(p) if p.trim().is_empty() => return false,
        Ok(p) => p,
        Err(_) => "less -R -F -X".to_string(),
    };
    let mut parts = pager.split_whitespace();
    let Some(program) = parts.next() else {
        return false;
    };
    let child = std::process::Command::new(program)
        .args(parts)
        .stdin(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else { return false };
    // Ctrl-C while it shows the text is the pager's, not a reason to end this process under it.
    let _hold = crate::util::signals::hold();
    if let Some(mut stdin) = child.stdin.take() {
        // A pager quit early closes the pipe: that is fine.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_output_is_released_on_drop() {
        {
            let _p = Paged::start();
            out("held");
            assert_eq!(HELD.with(|h| h.borrow().clone()), Some("held".to_string()));
        }
        assert_eq!(HELD.with(|h| h.borrow().clone()), None);
    }
}
