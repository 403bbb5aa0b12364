//! `workbook verify`: for instructors and authors, proves every exercise's graders on this
//! daemon (fails unsolved, solution and variants pass, each recorded mistake caught), then
//! cleans up.

use crate::checks::Status;
use crate::commands::context::{confirm, connect, ensure_images, find_exercise, CmdResult};
use crate::commands::present::mark;
use crate::curriculum::catalog::Catalog;
use crate::curriculum::exercise::Exercise;
use crate::ui::output::{json, outln};

pub async fn run(cat: &Catalog, wanted: &[String], as_json: bool, yes: bool) -> CmdResult {
    let chosen: Vec<&Exercise> = if wanted.is_empty() {
        cat.exercises()?.iter().collect()
    } else {
        wanted
            .iter()
            .map(|w| find_exercise(cat.exercises()?, w))
            .collect::<Result<_, _>>()?
    };
    if let Some(pack) = cat.pack_dir() {
        eprintln!(
            "The pack {} will run these scripts on your daemon:",
            pack.display()
        );
        let shown = |script: &str| crate::ui::safe_text::text(script.trim_end()).into_owned();
        for ex in &chosen {
            let solution = cat.solution(&ex.slug).unwrap_or_default();
            eprintln!("--- {} solution:\n{}", ex.slug, shown(&solution));
            for v in &ex.data.variants {
                eprintln!("--- {} variant {}:\n{}", ex.slug, v.id, shown(&v.run));
            }
            for m in &ex.data.mistakes {
                eprintln!("--- {} mistake {}:\n{}", ex.slug, m.id, shown(&m.run));
            }
            let commands = ex.exec_commands();
            if !commands.is_empty() {
                eprintln!(
                    "--- {} exec checks, run in containers at every grading:",
                    ex.slug
                );
                for c in commands {
                    eprintln!("  - {c}");
                }
            }
        }
    }
    let declared = crate::lab::verify::declared(&chosen);
    if !declared.is_empty() {
        eprintln!("verify resets each exercise before and after it, removing if present:");
        for d in &declared {
            eprintln!("  - {d}");
        }
    }
    if !confirm("Go ahead?", yes)? {
        eprintln!("Nothing was run.");
        return Ok(1);
    }
    let engine = connect().await?;
    let mut extra: Vec<&'static str> = Vec::new();
    for ex in &chosen {
        for image in ex.lab_images() {
            if !extra.contains(&image) {
                extra.push(image);
            }
        }
    }
    ensure_images(&engine, &extra).await?;
    if !as_json {
        outln(&crate::lab::verify::table_header());
    }
    // Where verify is (about two minutes in all), on a terminal only: indicatif draws on
    // stderr and hides itself when that is not a terminal.
    let bar = if as_json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(chosen.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let report = crate::lab::verify::verify(
        &engine.docker,
        cat,
        &chosen,
        |v| {
            bar.inc(1);
            if !as_json {
                bar.suspend(|| outln(&crate::lab::verify::table_row(v)));
            }
        },
        &|phase| bar.set_message(crate::ui::safe_text::text(phase).into_owned()),
    )
    .await;
    bar.finish_and_clear();
    let report = report?;
    if as_json {
        json(&report);
    } else {
        for v in report.exercises.iter().filter(|v| !v.ok()) {
            outln(&format!("\n{} {}:", mark(Status::Fail), v.exercise));
            for p in &v.problems {
                // Problems quote the scripts' output.
                outln(&format!("  - {}", crate::ui::safe_text::text(p)));
            }
        }
        if report.left_behind.is_empty() {
            outln("\nNothing was left behind: the daemon has the same containers, volumes and networks as before.");
        } else {
            outln(&format!(
                "\n{} left behind: {}",
                mark(Status::Fail),
                report.left_behind.join(", ")
            ));
        }
        let bad = report.exercises.iter().filter(|v| !v.ok()).count();
        outln(&if report.ok {
            format!(
                "{} all {} exercises verified",
                mark(Status::Pass),
                report.exercises.len()
            )
        } else {
            format!(
                "{} {bad} of {} exercises have problems",
                mark(Status::Fail),
                report.exercises.len()
            )
        });
    }
    Ok(if report.ok { 0 } else { 1 })
}
