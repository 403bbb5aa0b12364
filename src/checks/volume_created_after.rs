//! `kind = "volume-created-after"`: a volume was created after a host file was last written:
//! evidence that it was deleted and re-created after the backup was taken.
//!
//! Two signals, because neither is enough alone: a volume still carrying the labels of the
//! workbook's setup was never re-created (the learner's `docker volume create` does not add
//! them); and the volume's `CreatedAt` must be later than the file. The local driver reports as
//! `CreatedAt` the last change of the volume's folder, so a restore into the old volume also
//! moves it forward: the time alone shows "changed after", the labels show "re-created".

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Kind, Verdict, VolumeRef};
use crate::hostfile::Refusal;
use crate::snapshot::{Needs, Snapshot};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeCreatedAfter {
    pub volume: Option<String>,
    pub compose_volume: Option<String>,
    /// Relative to the exercise folder.
    pub host_file: String,
}

impl VolumeCreatedAfter {
    fn volume_ref(&self) -> Result<VolumeRef, String> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }
}

impl Kind for VolumeCreatedAfter {
    fn validate(&self) -> Result<(), String> {
        self.volume_ref().map(|_| ())
    }

    fn needs(&self, _needs: &mut Needs) {}

    fn evaluate(&self, snap: &Snapshot) -> Verdict {
        let r = match self.volume_ref() {
            Ok(r) => r,
            Err(e) => return Verdict::error(e),
        };
        let file = &self.host_file;
        let expected = format!("volume {r} re-created after {file} was written");
        let vol = match r.resolve(snap) {
            Err(v) => return v,
            Ok(None) => return r.missing(snap, &expected),
            Ok(Some(v)) => v,
        };
        let opened = crate::hostfile::open(&snap.exercise_dir, file);
        let mtime = match opened.and_then(|f| f.metadata.modified().map_err(Refusal::Io)) {
            Ok(t) => DateTime::<Utc>::from(t),
            Err(Refusal::Missing) => {
                return Verdict::fail(
                    expected,
                    format!("{file} does not exist"),
                    format!("take the backup first: create {file}"),
                )
            }
            Err(Refusal::Io(e)) => {
                return Verdict::error(format!("cannot read the time of {file}: {e}"))
            }
            Err(r) => return Verdict::fail(expected, r.found(file, &snap.exercise_dir), r.fix()),
        };
        if vol.labels.get(crate::labels::MANAGED).map(String::as_str) == Some("true") {
            return Verdict::fail(
                expected,
                format!(
                    "{} is still the volume the workbook created for this exercise: it was never deleted",
                    vol.name
                ),
                format!(
                    "the drill: remove the containers using it, `docker volume rm {}`, `docker volume create {}`, then restore from {file}",
                    vol.name, vol.name
                ),
            );
        }
        let Some(created) = vol.created_at else {
            return Verdict::error(format!(
                "the daemon does not report when volume {} was created",
                vol.name
            ));
        };
        // Volume times have one-second resolution on some engines: allow that much.
        if created + chrono::Duration::seconds(1) > mtime {
            return Verdict::pass(format!("{} was created after {file}", vol.name));
        }
        let ago = SystemTime::now()
            .duration_since(SystemTime::from(created))
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Verdict::fail(
            expected,
            format!(
                "{} was created at {} ({ago} s ago), before {file} ({})",
                vol.name,
                created.format("%H:%M:%S"),
                mtime.format("%H:%M:%S")
            ),
            format!(
                "the drill: remove the containers using it, `docker volume rm {}`, create it again, then restore from {file}",
                vol.name
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::Status;

    #[test]
    fn compares_creation_with_file_time() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("backup.tar.gz"), "x").unwrap();
        let mut snap = crate::snapshot::Snapshot::new(dir.path());
        // fixtures::volume is created at 2026-11-27T10:00:00Z; the file is newer (written now).
        snap.volumes = Ok(vec![volume("ml-data", "local", &[], &[])]);
        let c: VolumeCreatedAfter =
            toml::from_str("volume='ml-data'\nhost_file='backup.tar.gz'").unwrap();
        let v = c.evaluate(&snap);
        if Utc::now() > "2026-11-27T10:00:02Z".parse::<DateTime<Utc>>().unwrap() {
            assert_eq!(v.status, Status::Fail, "{v:?}");
            assert!(v.message.contains("before backup.tar.gz"), "{}", v.message);
        }
        let mut vols = snap.volumes.clone().unwrap();
        vols[0].created_at = Some(Utc::now() + chrono::Duration::seconds(5));
        snap.volumes = Ok(vols);
        assert!(c.evaluate(&snap).is_pass());
        let c: VolumeCreatedAfter =
            toml::from_str("volume='ml-data'\nhost_file='missing.tar.gz'").unwrap();
        assert!(c
            .evaluate(&snap)
            .message
            .contains("missing.tar.gz does not exist"));
    }

    #[test]
    #[cfg(unix)]
    fn the_file_time_is_read_only_from_a_regular_file_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let ex = dir.path().join("exercise");
        std::fs::create_dir(&ex).unwrap();
        std::fs::write(dir.path().join("outside.tar.gz"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.tar.gz"), ex.join("linked.tar.gz"))
            .unwrap();
        crate::hostfile::make_fifo(&ex.join("pipe.tar.gz"));
        let mut snap = crate::snapshot::Snapshot::new(&ex);
        let mut vol = volume("ml-data", "local", &[], &[]);
        vol.created_at = Some(Utc::now() + chrono::Duration::seconds(5));
        snap.volumes = Ok(vec![vol]);
        for (file, says) in [
            (
                "linked.tar.gz",
                "linked.tar.gz leads outside the exercise folder",
            ),
            (
                "pipe.tar.gz",
                "pipe.tar.gz is a named pipe (FIFO), not a regular file",
            ),
        ] {
            let c: VolumeCreatedAfter =
                toml::from_str(&format!("volume='ml-data'\nhost_file='{file}'")).unwrap();
            let v = c.evaluate(&snap);
            assert_eq!(v.status, Status::Fail, "{v:?}");
            assert!(v.message.contains(says), "{}", v.message);
        }
    }
}
