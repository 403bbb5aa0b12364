//! The daemon event history the workbook gathered, stored in the workspace
//! (`.workbook/volume-history.json`), one per daemon endpoint and bounded.

use crate::util::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checks::history::VolumeHistory;
use crate::util::clock::now_nanos;

/// The histories stored in a workspace, one per daemon endpoint.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    #[serde(default)]
    daemons: BTreeMap<String, VolumeHistory>,
}

const STORED_VERSION: u32 = 1;

/// The history stored at `path` for the daemon at `endpoint` (empty when there is none, or the
/// file is unreadable: it is evidence the workbook gathered, never the learner's work).
pub fn load(path: &Path, endpoint: &str) -> VolumeHistory {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Stored>(&t).ok())
        .filter(|s| s.version == STORED_VERSION)
        .and_then(|mut s| s.daemons.remove(endpoint))
        .unwrap_or_default()
}

/// Merges `history` into what is stored at `path` for `endpoint`, atomically. The caller holds
/// the workspace lock.
pub fn save(path: &Path, endpoint: &str, history: &VolumeHistory) -> Result<()> {
    let mut stored = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Stored>(&t).ok())
        .filter(|s| s.version == STORED_VERSION)
        .unwrap_or(Stored {
            version: STORED_VERSION,
            daemons: BTreeMap::new(),
        });
    let entry = stored.daemons.entry(endpoint.to_string()).or_default();
    entry.merge(history);
    entry.trim(now_nanos());
    let json = serde_json::to_string(&stored).map_err(|e| e.to_string())?;
    crate::util::fs::write_atomically(path, json.as_bytes()).map_err(|e| {
        Error::io(
            format!("cannot save the volume history to {}", path.display()),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::history::{Since, KEPT_NANOS, KEPT_REMOVALS, KEPT_VOLUMES};

    #[test]
    fn the_stored_history_is_per_daemon_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("volume-history.json");
        let now = now_nanos();
        let mut h = VolumeHistory::default();
        for i in 0..(KEPT_VOLUMES as i64 + 10) {
            h.note_removal(&format!("v{i}"), now - 1000 + i);
        }
        for i in 0..(KEPT_REMOVALS as i64 + 5) {
            h.note_removal("busy", now - 500 + i);
        }
        h.note_removal("ancient", now - KEPT_NANOS - 1);
        h.add_window(now - 2000, now);
        save(&path, "unix:///a.sock", &h).unwrap();
        let back = load(&path, "unix:///a.sock");
        assert_eq!(back.removed.len(), KEPT_VOLUMES);
        assert_eq!(back.removed["busy"].len(), KEPT_REMOVALS);
        assert!(!back.removed.contains_key("ancient"));
        // v0..v10 were forgotten (the least recently removed): so is the time up to the last
        // of them, or "v3 was never removed" would be claimed.
        assert!(!back.removed.contains_key("v10"));
        assert_eq!(back.windows, vec![(now - 1000 + 10 + 1, now)]);
        assert!(matches!(
            back.since("v3", now - 2000, now),
            Since::Unknown { .. }
        ));
        assert_eq!(
            load(&path, "tcp://elsewhere:2375"),
            VolumeHistory::default()
        );
        // A second save merges.
        let mut more = VolumeHistory::default();
        more.add_window(now - 100, now + 100);
        save(&path, "unix:///a.sock", &more).unwrap();
        assert_eq!(
            load(&path, "unix:///a.sock").windows,
            vec![(now - 1000 + 11, now + 100)]
        );
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(load(&path, "unix:///a.sock"), VolumeHistory::default());
    }
}
