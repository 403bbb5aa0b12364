//! What the global options resolve to before a command runs: the catalog (built in, or the
//! `--pack`) and the workspace folder named (a pack's own by default).

use crate::util::error::Result;
use std::path::{Path, PathBuf};

use crate::curriculum::catalog::Catalog;

/// The catalog and workspace a command works with.
pub struct Context {
    pub catalog: Catalog,
    /// The workspace named by `--workspace`, or a pack's own; `None`: the one we are in, or
    /// the default.
    pub workspace: Option<PathBuf>,
}

impl Context {
    /// Loads the catalog of `pack` (the built-in one without) and names the workspace.
    pub fn new(pack: Option<&Path>, workspace: Option<PathBuf>) -> Result<Context> {
        let catalog = match pack {
            Some(dir) => Catalog::pack(dir)?,
            None => Catalog::embedded()?,
        };
        let workspace = workspace.or_else(|| pack.map(pack_workspace));
        Ok(Context { catalog, workspace })
    }

    pub fn ws(&self) -> Option<&Path> {
        self.workspace.as_deref()
    }
}

/// A pack keeps its own workspace (progress is stored by slug, and slugs may repeat):
/// `NAME-workbook` after the pack's folder.
fn pack_workspace(dir: &Path) -> PathBuf {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    PathBuf::from(format!(
        "{}-workbook",
        name.unwrap_or_else(|| "pack".into())
    ))
}
