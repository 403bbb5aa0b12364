//! Validates one backup archive the way `backup-archive` does and prints how long it took:
//! `cargo run --release --example scan_archive -- [--list] FILE.tar.gz`. For measuring hostile
//! archives (time and peak memory: run it under `/usr/bin/time -v`); `--list` also prints each
//! regular file's size and SHA-256.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use workbook::archive::{self, Limits};

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let list = args.first().is_some_and(|a| a == "--list");
    if list {
        args.remove(0);
    }
    let [path] = &args[..] else {
        eprintln!("usage: scan_archive [--list] FILE.tar.gz");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let result = archive::read_backup(std::io::BufReader::new(file), &Limits::default());
    let elapsed = start.elapsed();
    // Write errors (a closed pipe) are ignored: this tool only reports.
    let mut out = std::io::stdout().lock();
    match result {
        Ok(m) => {
            let _ = writeln!(out, "valid: {} entries", m.len());
            for e in m.values().filter(|e| list && e.digest.is_some()) {
                let hex: String = e
                    .digest
                    .iter()
                    .flatten()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let _ = writeln!(out, "{hex} {:>12} {}", e.size, archive::display(&e.path));
            }
        }
        Err(problems) => {
            for p in problems {
                let short: String = p.chars().take(240).collect();
                let _ = writeln!(out, "refused: {short}");
            }
        }
    }
    let _ = writeln!(out, "elapsed: {:.3} s", elapsed.as_secs_f64());
    ExitCode::SUCCESS
}
