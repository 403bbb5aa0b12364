//! The command line: the arguments ([`args`]), what the global options resolve to
//! ([`context`]), and the dispatch to one function per command in [`crate::commands`]. Each
//! command returns an exit code (0 pass, 1 fail, 2 error) or an error, which [`main`] shows (its
//! one display path) and ends with exit code 2.

pub mod args;
pub mod context;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

pub use args::{Cli, Command, DevCommand};
use context::Context;

use crate::commands::context::{connect, require_workspace, CmdResult};
use crate::commands::{self as cmd};
use crate::util::error::Error;

/// What a signal removes: this process's helper containers and bench volumes.
async fn remove_all_helpers() {
    if let Ok(engine) = crate::docker::engine::connect().await {
        crate::docker::helpers::remove_live(&engine.docker).await;
        crate::lab::bench::remove_live(&engine.docker).await;
    }
}

/// Runs the command line and returns the exit code.
///
/// SIGINT, SIGTERM and SIGHUP end any command (see [`crate::util::signals`]): its future is dropped,
/// this process's helper containers are removed, and it exits 2; a command whose thread is
/// blocked is ended by the signal thread. Judging runs off this thread
/// ([`crate::grading::grade::grade`]), and the runtime is shut down without waiting for
/// blocking work that never ends (a named pipe being read).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = crate::util::signals::install(|| Box::pin(remove_all_helpers())) {
        report(&e);
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::util::signals::report(&format!("cannot start: {e}"));
            return ExitCode::from(2);
        }
    };
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(cli) => r,
            signal = crate::util::signals::shutdown_beside_command() => {
                // The command's future is dropped by now; leave no helper container behind.
                crate::util::signals::remove_helpers().await;
                Err(signal.message().into())
            }
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_millis(10));
    match outcome {
        // Commands end with 0, 1 or 2.
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        Err(e) => {
            report(&e);
            ExitCode::from(2)
        }
    }
}

/// The one place an error is shown: `error: ` and what failed, why and the fix, then a
/// `caused by:` line for each cause under it that the message does not already say. Errors
/// quote files, names and daemons: shown inert, whatever they hold.
fn report(e: &Error) {
    use std::io::Write;
    crate::util::signals::report(&crate::ui::safe_text::text(&e.to_string()));
    let mut err = std::io::stderr();
    for cause in e.causes() {
        let _ = writeln!(err, "  caused by: {}", crate::ui::safe_text::text(&cause));
    }
}

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> CmdResult {
    // Linting comes before loading: a pack that does not load can still be linted.
    if let Command::Dev {
        command: DevCommand::Check { dir },
    } = &cli.command
    {
        let pack_exercises = cli.pack.as_ref().map(|p| p.join("exercises"));
        return cmd::dev::run(dir.as_deref().or(pack_exercises.as_deref()));
    }
    let ctx = Context::new(cli.pack.as_deref(), cli.workspace)?;
    let (cat, ws) = (&ctx.catalog, ctx.ws());
    match cli.command {
        Command::Init { dir } => cmd::init::run(cat, dir.or(ctx.workspace.clone())),
        Command::Setup {
            offline,
            force,
            save,
            load,
        } => {
            let args = cmd::setup::SetupArgs {
                offline,
                force,
                save,
                load,
            };
            args.run().await
        }
        Command::Next { yes } => cmd::next::run(cat, ws, yes).await,
        Command::Check {
            all: true,
            json,
            yes,
            ..
        } => cmd::check::all(cat, ws, json, yes).await,
        Command::Check { ex, json, yes, .. } => {
            cmd::check::run(cat, ws, ex.exercise.as_deref(), json, yes).await
        }
        Command::Hint { ex } => cmd::hint::run(cat, ws, ex.exercise.as_deref()),
        Command::List { json } => cmd::list::run(cat, ws, json),
        Command::Lesson { ex } => cmd::lesson::run(cat, ws, ex.exercise.as_deref()),
        Command::Solution { ex, run, yes } => {
            cmd::solution::run(cat, ws, ex.exercise.as_deref(), run, yes).await
        }
        Command::BenchIo {
            size_mb,
            rounds,
            json,
        } => cmd::bench_io::run(size_mb, rounds, json).await,
        Command::Report { json } => cmd::report::run(cat.exercises()?, ws, json),
        Command::Dev {
            command: DevCommand::Check { dir },
        } => cmd::dev::run(dir.as_deref()),
        Command::Watch {
            exit_on_pass,
            max_regrades,
        } => {
            let ws = require_workspace(ws)?;
            let engine = connect().await?;
            let opts = cmd::watch::WatchOptions {
                exit_on_pass,
                max_regrades,
            };
            cmd::watch::run(cat, &ws, &engine, opts).await
        }
        Command::Doctor { json } => cmd::doctor::run(ws, json).await,
        Command::Reset { all: true, yes, .. } => cmd::reset::all(cat, ws, yes).await,
        Command::Reset { ex, yes, .. } => {
            cmd::reset::run(cat, ws, ex.exercise.as_deref(), yes).await
        }
        Command::Verify {
            exercises,
            json,
            yes,
        } => cmd::verify::run(cat, &exercises, json, yes).await,
        Command::Classroom { command } => command.run(cat, ws).await,
        Command::Book { serve, open } => cmd::book::run(serve, open),
        Command::Completions { shell } => cmd::completions::run(Cli::command(), shell),
        Command::Man { dir } => cmd::man::run(Cli::command(), dir.as_deref()),
    }
}
