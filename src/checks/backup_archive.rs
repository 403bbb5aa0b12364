//! `kind = "backup-archive"`: a `.tar.gz` in the exercise folder is a valid, safe backup:
//! gzip + tar, entries relative to the volume root, nothing absolute, escaping, special or
//! duplicated, within size caps (validated by streaming, never extracted), optionally holding
//! files matching a glob, and optionally every file of a volume with identical bytes.

use serde::Deserialize;

use super::{Kind, Verdict, VolumeRef};
use crate::archive::{self, EntryKind, Limits};
use crate::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupArchive {
    /// Relative to the exercise folder.
    pub path: String,
    /// The archive must hold every file of this volume, byte for byte.
    pub of_volume: Option<String>,
    pub of_compose_volume: Option<String>,
    /// With `min_matching`: files in the archive matching this glob.
    pub glob: Option<String>,
    pub min_matching: Option<u64>,
}

impl BackupArchive {
    fn volume_ref(&self) -> Option<VolumeRef> {
        VolumeRef::from_keys(&self.of_volume, &self.of_compose_volume).ok()
    }
}

impl Kind for BackupArchive {
    fn validate(&self) -> Result<(), String> {
        if self.of_volume.is_some() && self.of_compose_volume.is_some() {
            return Err("give `of_volume` or `of_compose_volume`, not both".into());
        }
        if let Some(g) = &self.glob {
            glob::Pattern::new(g).map_err(|e| format!("glob `{g}`: {e}"))?;
        }
        if self.glob.is_some() != self.min_matching.is_some() {
            return Err("`glob` and `min_matching` go together".into());
        }
        if self.path.starts_with('/') || self.path.split('/').any(|p| p == "..") {
            return Err(format!(
                "archive path `{}` must stay inside the exercise folder",
                self.path
            ));
        }
        Ok(())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Some(r) = self.volume_ref() {
            needs.tree(&r);
        }
    }

    fn evaluate(&self, snap: &Snapshot) -> Verdict {
        let path = &self.path;
        let expected = match self.volume_ref() {
            Some(r) => format!("{path}: a valid backup of volume {r}"),
            None => format!("{path}: a valid backup archive"),
        };
        let file = match std::fs::File::open(snap.exercise_dir.join(path)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Verdict::fail(
                    expected,
                    format!("{path} does not exist in {}", snap.exercise_dir.display()),
                    "mount this folder into a helper container and write the archive there: \
                     `docker run --rm -v VOLUME:/data -v \"$(pwd)\":/backup workbook/tools tar czf /backup/FILE -C /data .`",
                )
            }
            Err(e) => return Verdict::error(format!("cannot open {path}: {e}")),
        };
        let manifest = match archive::read_backup(std::io::BufReader::new(file), &Limits::default())
        {
            Ok(m) => m,
            Err(problems) => {
                let n = problems.len();
                let mut shown: Vec<String> = problems.into_iter().take(5).collect();
                if n > 5 {
                    shown.push(format!("... and {} more", n - 5));
                }
                return Verdict::fail(
                    expected,
                    shown.join("; "),
                    "make it again with `tar czf /backup/FILE -C /data .` in a helper container",
                );
            }
        };
        let (files, bytes) = archive::summary(&manifest);
        if files == 0 {
            return Verdict::fail(
                expected,
                format!("{path} holds no files"),
                "back up a volume that holds data, with `-C /data .`",
            );
        }
        if let (Some(g), Some(min)) = (&self.glob, self.min_matching) {
            let pattern = glob::Pattern::new(g).ok();
            let n = manifest
                .values()
                .filter(|e| {
                    e.kind == EntryKind::File
                        && pattern.as_ref().is_some_and(|p| p.matches(&e.path))
                })
                .count() as u64;
            if n < min {
                return Verdict::fail(
                    format!("{path} to hold at least {min} files matching `{g}`"),
                    format!("it holds {n} (of {files} files)"),
                    "back up the right volume, after it has the data",
                );
            }
        }
        if let Some(r) = self.volume_ref() {
            let vol = match r.resolve(snap) {
                Err(v) => return v,
                Ok(None) => return r.missing(snap, &expected),
                Ok(Some(v)) => v.name.clone(),
            };
            let tree = match snap.tree(&r) {
                Ok(t) => t,
                Err(v) => return v,
            };
            let diffs = archive::compare(tree, &vol, &manifest, path, false, false);
            if !diffs.is_empty() {
                let n = diffs.len();
                let mut shown: Vec<String> = diffs.into_iter().take(5).collect();
                if n > 5 {
                    shown.push(format!("... and {} more", n - 5));
                }
                return Verdict::fail(
                    expected,
                    format!("{n} difference{} from {vol}: {}", if n == 1 { "" } else { "s" }, shown.join("; ")),
                    format!("back up {vol} itself, its contents at the archive root: `-v {vol}:/data ... tar czf /backup/{path} -C /data .`"),
                );
            }
        }
        Verdict::pass(format!("{path}: {files} files, {bytes} bytes, all safe"))
    }
}
