//! `workbook init`: writes a workspace, one folder per exercise with its starter files.

use std::path::PathBuf;

use crate::commands::context::CmdResult;
use crate::curriculum::catalog::Catalog;
use crate::learner::workspace::{Workspace, DEFAULT_DIR};
use crate::ui::output::outln;

/// Writes the workspace at `dir` (default ./docker-volumes-workbook).
pub fn run(cat: &Catalog, dir: Option<PathBuf>) -> CmdResult {
    let dir = dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    let (ws, written) = Workspace::init(&dir, cat)?;
    outln(&format!(
        "Workspace ready at {} ({} files written).",
        ws.root.display(),
        written.len()
    ));
    outln(&format!(
        "Next: `cd {}` and `workbook next`.",
        dir.display()
    ));
    Ok(0)
}
