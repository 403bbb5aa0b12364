//! Validates one backup archive the way `backup-archive` does and prints how long it took:
//! `cargo run --release --example scan_archive -- FILE.tar.gz`. For measuring hostile archives
//! (time and peak memory: run it under `/usr/bin/time -v`).

use std::time::Instant;

use workbook::archive::{self, Limits};

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: scan_archive FILE.tar.gz");
        std::process::exit(2);
    };
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {}: {e}", path.to_string_lossy());
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let result = archive::read_backup(std::io::BufReader::new(file), &Limits::default());
    let elapsed = start.elapsed();
    match result {
        Ok(m) => println!("valid: {} entries", m.len()),
        Err(problems) => {
            for p in problems {
                let short: String = p.chars().take(240).collect();
                println!("refused: {short}");
            }
        }
    }
    println!("elapsed: {:.3} s", elapsed.as_secs_f64());
}
