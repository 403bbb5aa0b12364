//! `kind = "volume-matches-archive"`: a volume holds exactly the files of a backup archive in
//! the exercise folder (a restore worked): same paths, same bytes, nothing missing or extra.

use crate::util::error::Result;
use serde::Deserialize;

use super::backup_archive::{tar_command, Tar};
use super::{Judged, Kind, Verdict, VolumeRef};
use crate::archive::{self, EntryKind, Limits};
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
        let backup = tar_command(&vol, path, Tar::Create);
        let take = format!(
            "{path} is the backup an earlier step made: take it again, `{backup}`, then restore it"
        );
        let missing = (format!("{path} does not exist"), take.as_str());
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
                    take,
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
        let restore = format!("`{}`", tar_command(&vol, path, Tar::Extract));
        // A compose volume is restored before its service starts (or writes into it again).
        let order = match &r {
            VolumeRef::Compose(_) => format!(
                ", with nothing of the project using it: `docker compose rm -sf` its services \
                 first, `docker compose up -d` after (in {})",
                snap.exercise_dir.display()
            ),
            VolumeRef::Named(_) => String::new(),
        };
        let files_in_volume = tree.values().filter(|e| e.kind == EntryKind::File).count();
        let extra = format!(" is in {vol} but not in {path}");
        let only_extra = diffs.iter().all(|d| d.ends_with(&extra));
        let (found, fix) = if files_in_volume == 0 {
            (
                format!("{vol} holds no files: nothing was restored into it"),
                format!(
                    "restore {path} into it{order}: {restore} (tar extracts into the folder `-C` \
                     names: only under /data, where the volume is mounted, do files land in it)"
                ),
            )
        } else {
            let n = diffs.len();
            let s = if n == 1 { "" } else { "s" };
            let found = format!(
                "{n} difference{s} between {path} and {vol}: {}",
                super::listed(diffs, 5)
            );
            let fix = if only_extra {
                format!(
                    "{vol} holds files the archive does not: a restore must go into an EMPTY \
                     volume. Remove it (its containers first), create it again and restore{order}: \
                     {restore}"
                )
            } else {
                format!(
                    "restore into the volume's root (`-C /data`, the folder where it is \
                     mounted){order}: {restore}"
                )
            };
            (found, fix)
        };
        Ok(Verdict::fail(expected, found, fix))
    }
}
