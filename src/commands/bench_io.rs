//! `workbook bench-io`: write and read speed of four kinds of storage.

use crate::commands::context::{connect, ensure_images, CmdResult};
use crate::ui::output::{json, out};
use crate::ui::render::Style;

/// Measures `size_mb` MiB, `rounds` times per storage kind.
pub async fn run(size_mb: u64, rounds: u32, as_json: bool) -> CmdResult {
    let engine = connect().await?;
    ensure_images(&engine, &[]).await?;
    let opts = crate::lab::bench::BenchOptions { size_mb, rounds };
    if !as_json {
        eprintln!("Measuring {size_mb} MiB x {rounds} round(s) on 4 kinds of storage...");
    }
    // Which kind is being measured, on a terminal (indicatif hides itself elsewhere).
    let bar = if as_json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(4)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{pos}/{len}] {elapsed} measuring {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = crate::lab::bench::run(&engine.docker, &opts, &|i, kind| {
        bar.set_position(i as u64);
        bar.set_message(kind.to_string());
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    if as_json {
        json(&report);
    } else {
        let style = Style::for_stdout();
        out(&crate::lab::bench::chart(&report, style.width, style.color));
    }
    Ok(0)
}
