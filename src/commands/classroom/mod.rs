//! `workbook classroom …`: an instructor's live view of a workshop. The instructor runs
//! [`serve`] (and reads it with [`status`]); each attendee opts in with [`join`], and from then
//! on every grading sends one small record ([`crate::classroom::client`]); [`sync`] sends what
//! waits, [`leave`] undoes the join.

pub mod join;
pub mod leave;
pub mod serve;
pub mod status;
pub mod sync;

use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::classroom::room::ExerciseInfo;
use crate::commands::context::CmdResult;
use crate::curriculum::catalog::Catalog;
use crate::util::error::Result;

#[derive(Debug, Subcommand)]
pub enum ClassroomCommand {
    /// For the instructor: serve the classroom (dashboard, the attendees' records) and print
    /// the join command. Touches no Docker; a restart with the same data file keeps everything.
    #[command(after_help = crate::commands::help::CLASSROOM_SERVE)]
    Serve {
        /// Where to listen. 0.0.0.0 lets the attendees' machines reach it.
        #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:7300")]
        listen: std::net::SocketAddr,
        /// The classroom's SQLite file (default: ./workbook-classroom.sqlite); created if missing.
        #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        data: Option<PathBuf>,
        /// Make a new join code: the old one no longer lets anyone join (attendees who joined stay).
        #[arg(long)]
        new_code: bool,
        /// An attendee failing the same step for this many minutes is shown as stuck.
        #[arg(long, value_name = "MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1440))]
        stuck_after: u64,
    },
    /// For the instructor: the dashboard in the terminal, read from the classroom's data file.
    #[command(after_help = crate::commands::help::CLASSROOM_STATUS)]
    Status {
        /// The classroom's SQLite file (default: ./workbook-classroom.sqlite).
        #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        data: Option<PathBuf>,
        /// An attendee failing the same step for this many minutes is shown as stuck.
        #[arg(long, value_name = "MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1440))]
        stuck_after: u64,
        /// Machine-readable: what the dashboard's /api/state answers.
        #[arg(long)]
        json: bool,
    },
    /// For an attendee: join the classroom at URL with the code on the instructor's screen.
    /// Says what will be sent and asks first; nothing is sent before.
    #[command(after_help = crate::commands::help::CLASSROOM_JOIN)]
    Join {
        /// The address `workbook classroom serve` printed (http://HOST:PORT).
        #[arg(value_name = "URL")]
        url: String,
        /// The join code it printed (K7QF-M2; case and dash do not matter).
        #[arg(value_name = "CODE")]
        code: String,
        /// The name the instructor will see.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Do not ask.
        #[arg(long, short)]
        yes: bool,
    },
    /// For an attendee: stop sending, and ask the server to forget you and your records.
    #[command(after_help = crate::commands::help::CLASSROOM_LEAVE)]
    Leave,
    /// For an attendee: send the records waiting in the workspace now (exit 1 while some wait).
    #[command(after_help = crate::commands::help::CLASSROOM_SYNC)]
    Sync,
}

impl ClassroomCommand {
    /// Runs it; `ws` is the `--workspace` option (for the attendee's commands).
    pub async fn run(self, cat: &Catalog, ws: Option<&Path>) -> CmdResult {
        match self {
            ClassroomCommand::Serve {
                listen,
                data,
                new_code,
                stuck_after,
            } => {
                let args = serve::ServeArgs {
                    listen,
                    data,
                    new_code,
                    stuck_after,
                };
                args.run(cat).await
            }
            ClassroomCommand::Status {
                data,
                stuck_after,
                json,
            } => status::StatusArgs {
                data,
                stuck_after,
                json,
            }
            .run(cat),
            ClassroomCommand::Join {
                url,
                code,
                name,
                yes,
            } => {
                let args = join::JoinArgs {
                    url,
                    code,
                    name,
                    yes,
                };
                args.run(cat, ws).await
            }
            ClassroomCommand::Leave => leave::run(ws).await,
            ClassroomCommand::Sync => sync::run(ws).await,
        }
    }
}

/// The exercises a classroom shows: the catalog's, in order.
pub fn exercises(cat: &Catalog) -> Result<Vec<ExerciseInfo>> {
    Ok(cat.exercises()?.iter().map(ExerciseInfo::of).collect())
}
