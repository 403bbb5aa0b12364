//! `kind = "backup-archive"`: a `.tar.gz` in the exercise folder is a valid, safe backup:
//! gzip + tar, entries relative to the volume root, nothing absolute, escaping, special or
//! duplicated, within size caps (validated by streaming, never extracted), optionally holding
//! files matching a glob, and optionally every file of a volume with identical bytes.

use crate::util::error::Result;
use serde::Deserialize;

use super::{Judged, Kind, Verdict, VolumeRef};
use crate::archive::{self, EntryKind, Limits};
use crate::checks::snapshot::{Needs, Snapshot};
use crate::util::hostfile::{self, Refusal};

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

impl BackupArchive {
    /// The whole command that writes the archive: the volume by its real name (a compose
    /// volume's carries the project's prefix), the archive's own folder mounted at /backup.
    fn write_it(&self, snap: &Snapshot) -> String {
        let volume = match self.volume_ref() {
            Some(r) => match r.resolve(snap) {
                Ok(Some(v)) => v.name.clone(),
                _ => match &r {
                    VolumeRef::Compose(n) => format!("PROJECT_{n}"),
                    VolumeRef::Named(n) => n.clone(),
                },
            },
            None => "VOLUME".to_string(),
        };
        let compose = volume.starts_with("PROJECT_");
        format!(
            "mount the archive's folder into a helper container and write the archive there: \
             `{}`{}",
            tar_command(&volume, &self.path, Tar::Create),
            if compose {
                " (Compose names the volume PROJECT_NAME: `docker volume ls` shows it)"
            } else {
                ""
            }
        )
    }
}

/// What a helper container's `tar` does between a volume at /data and an archive's folder.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tar {
    Create,
    Extract,
}

/// The whole helper command: `volume` (its real name) at /data, the folder of `path` (relative
/// to the exercise folder) at /backup, and `tar` writing the archive from the volume's root or
/// extracting it into that root.
pub(super) fn tar_command(volume: &str, path: &str, op: Tar) -> String {
    let (folder, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (format!("$(pwd)/{dir}"), file.to_string()),
        None => ("$(pwd)".to_string(), path.to_string()),
    };
    let (data, backup, tar) = match op {
        Tar::Create => ("", "", "czf"),
        Tar::Extract => ("", ":ro", "xzf"),
    };
    format!(
        "docker run --rm -v {volume}:/data{data} -v \"{folder}\":/backup{backup} workbook/tools \
         tar {tar} /backup/{file} -C /data{}",
        if op == Tar::Create { " ." } else { "" }
    )
}

impl Kind for BackupArchive {
    fn validate(&self) -> Result<()> {
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
            )
            .into());
        }
        Ok(())
    }

    fn host_files(&self) -> bool {
        true
    }

    fn needs(&self, needs: &mut Needs) {
        if let Some(r) = self.volume_ref() {
            needs.tree_if_file(&r, &self.path);
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let path = &self.path;
        let expected = match self.volume_ref() {
            Some(r) => format!("{path}: a valid backup of volume {r}"),
            None => format!("{path}: a valid backup archive"),
        };
        let missing = format!("{path} does not exist in {}", snap.exercise_dir.display());
        let fix = self.write_it(snap);
        let file = open_archive(snap, path, &expected, (missing, &fix))?;
        let manifest = match archive::read_backup(std::io::BufReader::new(file), &Limits::default())
        {
            Ok(m) => m,
            Err(problems) => {
                let shown = super::listed(problems, 5);
                return Ok(Verdict::fail(
                    expected,
                    shown,
                    "make it again with `tar czf /backup/FILE -C /data .` in a helper container",
                ));
            }
        };
        let (files, bytes) = archive::summary(&manifest);
        if files == 0 {
            return Ok(Verdict::fail(
                expected,
                format!("{path} holds no files"),
                "back up a volume that holds data, with `-C /data .`",
            ));
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
                return Ok(Verdict::fail(
                    format!(
                        "{path} to hold at least {} matching `{g}`",
                        crate::ui::count::count(min, "file")
                    ),
                    format!(
                        "it holds {n} (of {})",
                        crate::ui::count::count(files as u64, "file")
                    ),
                    "back up the right volume, after it has the data",
                ));
            }
        }
        if let Some(r) = self.volume_ref() {
            let (vol, tree) = r.tree(snap, &expected)?;
            let diffs = archive::compare(tree, &vol, &manifest, path, false, false);
            if !diffs.is_empty() {
                let n = diffs.len();
                let shown = super::listed(diffs, 5);
                return Ok(Verdict::fail(
                    expected,
                    format!("{n} difference{} from {vol}: {}", if n == 1 { "" } else { "s" }, shown),
                    format!("back up {vol} itself, its contents at the archive root: `-v {vol}:/data ... tar czf /backup/{path} -C /data .`"),
                ));
            }
        }
        let note = archive::special_modes(&manifest).map(|n| format!("; {n}"));
        let note = note.unwrap_or_default();
        Ok(Verdict::pass(format!(
            "{path}: {}, {}, all safe{note}",
            crate::ui::count::count(files as u64, "file"),
            crate::ui::count::count(bytes, "byte")
        )))
    }
}

/// The archive `path` of the exercise folder, opened; or the verdict: a fail saying `missing`
/// (found, fix) when there is none, the refusal's own fail when it is not a regular file of the
/// folder (a link out of it, a FIFO), an error when it cannot be opened.
pub(super) fn open_archive(
    snap: &Snapshot,
    path: &str,
    expected: &str,
    missing: (String, &str),
) -> Result<std::fs::File, Verdict> {
    match hostfile::open(&snap.exercise_dir, path) {
        Ok(f) => Ok(f.file),
        Err(Refusal::Missing) => Err(Verdict::fail(expected, missing.0, missing.1)),
        Err(Refusal::Io(e)) => Err(Verdict::error(format!("cannot open {path}: {e}"))),
        Err(r) => Err(Verdict::fail(
            expected,
            r.found(path, &snap.exercise_dir),
            r.fix(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::{Check, Status};
    use std::io::Write;

    /// A tar of `files` (path, bytes), entries named as `prefix` + path.
    fn tar_of(files: &[(&str, &[u8])], prefix: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_cksum();
            b.append_data(&mut h, format!("{prefix}{path}"), *data)
                .unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    const DATA: &[(&str, &[u8])] = &[
        ("raw/train.csv", b"a,b\n1,2\n"),
        ("model.bin", &[0, 1, 2, 255]),
    ];

    fn snap_with(
        dir: &std::path::Path,
        archive: &[u8],
        volume_files: &[(&str, &[u8])],
    ) -> crate::checks::snapshot::Snapshot {
        std::fs::write(dir.join("ml-data-backup.tar.gz"), archive).unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir);
        snap.volumes = Ok(vec![volume("ml-data", "local", &[], &[])]);
        let tree =
            archive::read_tar(&tar_of(volume_files, "./")[..], None, &Limits::default()).unwrap();
        snap.trees
            .insert(VolumeRef::Named("ml-data".into()), Ok(tree));
        snap
    }

    fn verdict(snap: &crate::checks::snapshot::Snapshot, check: &str) -> (Status, String) {
        let c: Check = toml::from_str(check).unwrap();
        c.validate().unwrap();
        let v = c.evaluate(snap);
        (v.status, v.message)
    }

    const BACKUP: &str = "kind='backup-archive'\npath='ml-data-backup.tar.gz'\nof_volume='ml-data'";
    const RESTORED: &str =
        "kind='volume-matches-archive'\nvolume='ml-data'\narchive='ml-data-backup.tar.gz'";

    #[test]
    fn a_faithful_backup_and_restore_pass() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), DATA);
        assert_eq!(verdict(&snap, BACKUP).0, Status::Pass);
        assert_eq!(verdict(&snap, RESTORED).0, Status::Pass);
    }

    #[test]
    fn a_missing_archive_gets_the_whole_command_for_its_folder_and_volume() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = crate::checks::snapshot::Snapshot::new(dir.path());
        snap.volumes = Ok(vec![volume("ml-data", "local", &[], &[])]);
        let (s, m) = verdict(
            &snap,
            "kind='backup-archive'\npath='backups/ml-data.tar.gz'\nof_volume='ml-data'",
        );
        assert_eq!(s, Status::Fail);
        assert!(
            m.contains(r#"-v ml-data:/data -v "$(pwd)/backups":/backup"#)
                && m.contains("tar czf /backup/ml-data.tar.gz -C /data ."),
            "{m}"
        );
        // A compose volume not made yet: its real name is the project's.
        let (_, m) = verdict(
            &snap,
            "kind='backup-archive'\npath='backups/checkpoints.tar.gz'\nof_compose_volume='checkpoints'",
        );
        assert!(
            m.contains("-v PROJECT_checkpoints:/data") && m.contains("docker volume ls"),
            "{m}"
        );
    }

    #[test]
    fn archive_of_the_folder_not_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "data/")), DATA);
        let (s, m) = verdict(&snap, BACKUP);
        assert_eq!(s, Status::Fail);
        assert!(m.contains("-C /data ."), "{m}");
    }

    #[test]
    fn absolute_entries_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.as_old_mut().name[..15].copy_from_slice(b"/data/model.bin");
        h.set_cksum();
        b.append(&h, &b"abc"[..]).unwrap();
        let snap = snap_with(dir.path(), &gz(&b.into_inner().unwrap()), DATA);
        let (s, m) = verdict(&snap, BACKUP);
        assert_eq!(s, Status::Fail);
        assert!(m.contains("/data/model.bin is absolute"), "{m}");
    }

    #[test]
    fn wrong_volume_and_partial_restore_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let other: &[(&str, &[u8])] = &[("VERSION", b"v1\n")];
        let snap = snap_with(dir.path(), &gz(&tar_of(other, "./")), DATA);
        let (s, m) = verdict(&snap, BACKUP);
        assert_eq!(s, Status::Fail);
        assert!(
            m.contains("differences from ml-data") && m.contains("model.bin"),
            "{m}"
        );
        let half: &[(&str, &[u8])] = &[("model.bin", &[0, 1, 2, 255])];
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), half);
        let (s, m) = verdict(&snap, RESTORED);
        assert_eq!(s, Status::Fail);
        assert!(m.contains("train.csv") && m.contains("tar xzf"), "{m}");
    }

    #[test]
    fn a_restore_that_left_the_volume_empty_or_with_more_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let mut snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), DATA);
        snap.trees.insert(
            VolumeRef::Named("ml-data".into()),
            Ok(archive::Manifest::default()),
        );
        let (s, m) = verdict(&snap, RESTORED);
        assert_eq!(s, Status::Fail);
        assert!(
            m.contains("ml-data holds no files: nothing was restored into it")
                && m.contains("tar xzf /backup/ml-data-backup.tar.gz -C /data")
                && m.contains("only under /data"),
            "{m}"
        );
        let mut more: Vec<(&str, &[u8])> = DATA.to_vec();
        more.push(("stale.txt", b"old"));
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), &more);
        let (s, m) = verdict(&snap, RESTORED);
        assert_eq!(s, Status::Fail);
        assert!(
            m.contains("file stale.txt is in ml-data but not in ml-data-backup.tar.gz")
                && m.contains("a restore must go into an EMPTY volume"),
            "{m}"
        );
        // The backup gone: the whole command that takes it again.
        std::fs::remove_file(dir.path().join("ml-data-backup.tar.gz")).unwrap();
        let (_, m) = verdict(&snap, RESTORED);
        assert!(
            m.contains("take it again, `docker run --rm -v ml-data:/data -v \"$(pwd)\":/backup workbook/tools tar czf /backup/ml-data-backup.tar.gz -C /data .`"),
            "{m}"
        );

        let dir = tempfile::tempdir().unwrap();
        let snap = snap_with(dir.path(), &tar_of(DATA, "./"), DATA);
        let (s, m) = verdict(&snap, BACKUP);
        assert_eq!(s, Status::Fail);
        assert!(m.contains("not gzip"), "{m}");
        std::fs::remove_file(dir.path().join("ml-data-backup.tar.gz")).unwrap();
        assert!(verdict(&snap, BACKUP).1.contains("does not exist"));
    }

    /// `check` on `snap` on a thread, failing the test if it blocks.
    fn verdict_soon(snap: &crate::checks::snapshot::Snapshot, check: &str) -> (Status, String) {
        let (snap, check) = (snap.clone(), check.to_string());
        crate::util::hostfile::within_10s(move || verdict(&snap, &check))
    }

    #[test]
    #[cfg(unix)]
    fn a_fifo_instead_of_the_archive_ends_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), DATA);
        let archive = dir.path().join("ml-data-backup.tar.gz");
        std::fs::remove_file(&archive).unwrap();
        crate::util::hostfile::make_fifo(&archive);
        for check in [BACKUP, RESTORED] {
            let (s, m) = verdict_soon(&snap, check);
            assert_eq!(s, Status::Fail, "{m}");
            assert!(
                m.contains("ml-data-backup.tar.gz is a named pipe (FIFO), not a regular file"),
                "{m}"
            );
        }
    }

    #[test]
    #[cfg(unix)]
    fn an_archive_linked_from_outside_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("exercise");
        std::fs::create_dir(&ex).unwrap();
        let snap = snap_with(&ex, &gz(&tar_of(DATA, "./")), DATA);
        // A valid backup, but outside the exercise folder, reached through a link.
        let outside = dir.path().join("elsewhere.tar.gz");
        std::fs::rename(ex.join("ml-data-backup.tar.gz"), &outside).unwrap();
        std::os::unix::fs::symlink(&outside, ex.join("ml-data-backup.tar.gz")).unwrap();
        for check in [BACKUP, RESTORED] {
            let (s, m) = verdict_soon(&snap, check);
            assert_eq!(s, Status::Fail, "{m}");
            assert!(
                m.contains("ml-data-backup.tar.gz leads outside the exercise folder"),
                "{m}"
            );
        }
        // A link that stays inside the folder is fine.
        std::fs::rename(&outside, ex.join("real.tar.gz")).unwrap();
        std::fs::remove_file(ex.join("ml-data-backup.tar.gz")).unwrap();
        std::os::unix::fs::symlink("real.tar.gz", ex.join("ml-data-backup.tar.gz")).unwrap();
        assert_eq!(verdict(&snap, BACKUP).0, Status::Pass);
    }

    #[test]
    fn setuid_files_are_noted_in_the_pass_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        for (path, mode, uid) in [("./bin/x", 0o4755, 0), ("./model.bin", 0o644, 1000)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(2);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_cksum();
            b.append_data(&mut h, path, &b"xy"[..]).unwrap();
        }
        let archive = gz(&b.into_inner().unwrap());
        let snap = snap_with(dir.path(), &archive, DATA);
        let check = "kind='backup-archive'\npath='ml-data-backup.tar.gz'";
        let (s, m) = verdict(&snap, check);
        assert_eq!(s, Status::Pass, "{m}");
        assert_eq!(
            m,
            "ml-data-backup.tar.gz: 2 files, 4 bytes, all safe; note: bin/x is setuid root (mode 4755): a restore recreates it"
        );
        let restored: &[(&str, &[u8])] = &[("bin/x", b"xy"), ("model.bin", b"xy")];
        let snap = snap_with(dir.path(), &archive, restored);
        let (s, m) = verdict(&snap, RESTORED);
        assert_eq!(s, Status::Pass, "{m}");
        assert_eq!(
            m,
            "ml-data holds the 2 files of ml-data-backup.tar.gz; note: bin/x is setuid root (mode 4755): a restore recreates it"
        );
        // Without one, the message is as before.
        let snap = snap_with(dir.path(), &gz(&tar_of(DATA, "./")), DATA);
        let (_, m) = verdict(&snap, check);
        assert_eq!(m, "ml-data-backup.tar.gz: 2 files, 12 bytes, all safe");
    }
}
