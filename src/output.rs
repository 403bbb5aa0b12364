//! Writing to stdout without panicking when the reader goes away (`workbook list | head`).

use std::io::Write;

/// Writes `text` to stdout; a closed pipe ends the process quietly with success.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
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
