//! Changes to the files of the exercise folder.

use crate::util::error::Result;
use std::path::Path;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// Whether a file-system event can change what grading sees (opening or reading a file, which
/// grading itself does, cannot).
pub fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    use notify::EventKind;
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Watches `dir` recursively; each change sends the time it was seen.
pub(super) fn watch_folder(
    dir: &Path,
    tx: mpsc::UnboundedSender<Instant>,
) -> Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if is_change(&ev.kind) {
                let _ = tx.send(Instant::now());
            }
        }
    })
    .map_err(|e| format!("cannot watch files: {e}"))?;
    watcher
        .watch(dir, notify::RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(watcher)
}
