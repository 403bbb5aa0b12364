//! `kind = "volume-matches-archive"`: a volume holds exactly the files of a backup archive in
//! the exercise folder (a restore worked): same paths, same bytes, nothing missing or extra.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Verdict, VolumeRef};
use crate::archive::{self, Limits};
use crate::checks::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeMatchesArchive {
    pub volume: Option<String>,
    pub compose_volume: Option<String>,
    /// Relative to the exercise folder.
    pub archive: String,
    /// `false`: extra files in the volume are fine (e.g. a trainer wrote more after the restore).
    #[serde(default = "yes")]
    pub exact: bool,
}

fn yes() -> bool {
    true
}

impl VolumeMatchesArchive {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }
}

impl Kind for VolumeMatchesArchive {
    fn validate(&self) -> Result<()> {
        self.volume_ref().map(|_| ())
    }

    fn host_files(&self) -> bool {
        true
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(r) = self.volume_ref() {
            needs.tree_if_file(&r, &self.archive);
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = self.volume_ref().map_err(Verdict::error)?;
        let path = &self.archive;
        let expected = format!("volume {r} restored from {path}");
        let vol = r.existing(snap, &expected)?.name.clone();
        let missing = (format!("{path} does not exist"), "take the backup first");
        let file = super::backup_archive::open_archive(snap, path, &expected, missing)?;
        let manifest = match archive::read_backup(std::io::BufReader::new(file), &Limits::default())
        {
            Ok(m) => m,
            Err(problems) => {
                return Ok(Verdict::fail(
                    expected,
                    format!(
                        "{path} is not a usable backup: {}",
                        super::listed(problems, 3)
                    ),
                    "fix the backup first (see the step before)",
                ))
            }
        };
        let tree = snap.tree(&r)?;
        let diffs = archive::compare(&manifest, path, tree, &vol, self.exact, false);
        if diffs.is_empty() {
            let (files, _) = archive::summary(&manifest);
            let note = archive::special_modes(&manifest).map(|n| format!("; {n}"));
            let note = note.unwrap_or_default();
            return Ok(Verdict::pass(format!(
                "{vol} holds the {} of {path}{note}",
                crate::ui::count::count(files as u64, "file")
            )));
        }
        let n = diffs.len();
        let shown = super::listed(diffs, 5);
        Ok(Verdict::fail(
            expected,
            format!("{n} difference{} between {path} and {vol}: {}", if n == 1 { "" } else { "s" }, shown),
            format!(
                "restore into the volume's root: `docker run --rm -v {vol}:/data -v \"$(pwd)\":/backup workbook/tools tar xzf /backup/{path} -C /data`"
            ),
        ))
    }
}
