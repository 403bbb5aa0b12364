//! `kind = "volume-created-after"`: a volume was deleted and created again after a host file
//! (a backup) was last written: the disaster drill.
//!
//! A volume's `CreatedAt` alone cannot prove it: Docker Engine before 23.0 reports the last
//! change of the volume's `_data` folder as its creation time, so restoring the backup into the
//! OLD volume moves it past the backup too. The evidence, strongest first:
//! 1. the volume still carries the labels of the workbook's setup: never re-created (the
//!    learner's `docker volume create` does not add them);
//! 2. the daemon's event history (with what earlier gradings and `watch` saw of it, see
//!    [`crate::checks::history`]): a `destroy` of the volume after the file was written proves the drill;
//!    a history that covers the whole time since then with no removal proves it was skipped;
//! 3. when no history reaches back that far: `CreatedAt`, which is the volume's real creation
//!    time on Docker Engine 23+ and Podman, and only a hint on older engines, where the verdict
//!    says so.

use crate::util::error::Result;
use chrono::{DateTime, Local, Utc};
use serde::Deserialize;

use super::backup_archive::{tar_command, Tar};
use super::{Judged, Kind, Verdict, VolumeRef};
use crate::checks::history::Since;
use crate::checks::snapshot::{Needs, Snapshot};
use crate::util::hostfile::Refusal;

/// Clocks of the host (file times) and the daemon (event and volume times) may differ by this
/// much, and some engines keep volume times to the second.
const SLACK_NANOS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeCreatedAfter {
    pub volume: Option<String>,
    pub compose_volume: Option<String>,
    /// Relative to the exercise folder.
    pub host_file: String,
    /// The drill in the task's words (a database's dump is loaded with `psql`, not `tar`),
    /// instead of the volume's `tar` recipe.
    pub drill: Option<String>,
}

impl VolumeCreatedAfter {
    fn volume_ref(&self) -> Result<VolumeRef> {
        VolumeRef::from_keys(&self.volume, &self.compose_volume)
    }
}

/// The whole drill for volume `name`, in the words of how it was made: `docker volume` commands
/// for a named volume; for a compose one, Compose re-creates it (`up --no-start`), since a
/// `docker volume create` one lacks the labels Compose and this check know it by.
fn drill(r: &VolumeRef, name: &str, file: &str, snap: &Snapshot) -> String {
    let restore = tar_command(name, file, Tar::Extract);
    match r {
        VolumeRef::Named(_) => format!(
            "the drill: remove the containers that use it (`docker ps -a --filter volume={name}` \
             lists them; `docker rm` them), `docker volume rm {name}`, `docker volume create \
             {name}`, then restore {file} into it: `{restore}`"
        ),
        VolumeRef::Compose(_) => format!(
            "the drill, in {}: `docker compose rm -sf` the services that use it, `docker volume \
             rm {name}`, `docker compose up --no-start` (Compose creates it again, with its \
             labels; `docker volume create` would not), restore {file} into it: `{restore}`, \
             then `docker compose up -d`",
            snap.exercise_dir.display()
        ),
    }
}

/// `HH:MM:SS` in local time.
fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

fn clock_nanos(n: i64) -> String {
    clock(DateTime::<Utc>::from_timestamp_nanos(n))
}

impl Kind for VolumeCreatedAfter {
    fn validate(&self) -> Result<()> {
        self.volume_ref().map(|_| ())
    }

    fn needs(&self, needs: &mut Needs) {
        if let Ok(r) = self.volume_ref() {
            needs.history(&r, &self.host_file);
        }
    }

    fn judge(&self, snap: &Snapshot) -> Judged {
        let r = self.volume_ref().map_err(Verdict::error)?;
        let file = &self.host_file;
        let expected = format!("volume {r} deleted and created again after {file} was written");
        let vol = r.existing(snap, &expected)?;
        let name = &vol.name;
        let drill = match &self.drill {
            Some(d) => d.clone(),
            None => drill(&r, name, file, snap),
        };
        let opened = crate::util::hostfile::open(&snap.exercise_dir, file);
        let mtime = match opened.and_then(|f| f.metadata.modified().map_err(Refusal::Io)) {
            Ok(t) => DateTime::<Utc>::from(t),
            Err(Refusal::Missing) => {
                return Ok(Verdict::fail(
                    expected,
                    format!("{file} does not exist"),
                    format!(
                        "take the backup first: `{}`",
                        tar_command(name, file, Tar::Create)
                    ),
                ))
            }
            Err(Refusal::Io(e)) => {
                return Ok(Verdict::error(format!(
                    "cannot read the time of {file}: {e}"
                )))
            }
            Err(r) => {
                return Ok(Verdict::fail(
                    expected,
                    r.found(file, &snap.exercise_dir),
                    r.fix(),
                ))
            }
        };
        if vol
            .labels
            .get(crate::docker::labels::MANAGED)
            .map(String::as_str)
            == Some("true")
        {
            return Ok(Verdict::fail(
                expected,
                format!(
                    "{name} is still the volume the workbook created for this exercise: it was never deleted"
                ),
                drill,
            ));
        }
        let Some(created) = vol.created_at else {
            return Ok(Verdict::error(format!(
                "the daemon does not report when volume {name} was created"
            )));
        };
        let written = mtime.timestamp_nanos_opt().unwrap_or(i64::MAX);
        let newer = created.timestamp_nanos_opt().unwrap_or(i64::MIN) + SLACK_NANOS > written;
        let history = snap
            .history
            .as_ref()
            .map(|h| h.since(name, written - SLACK_NANOS, snap.graded_at));
        match history {
            Some(Since::Removed(at)) => {
                return Ok(Verdict::pass(format!(
                    "{name} was deleted at {}, after {file} was written ({}), and created again",
                    clock_nanos(at),
                    clock(mtime)
                )))
            }
            Some(Since::NotRemoved { covered_from }) => {
                let moved = if newer {
                    format!(
                        "; its creation time says {} only because files changed in it (restoring into \
                         the old volume does that), it is the same volume",
                        clock(created)
                    )
                } else {
                    String::new()
                };
                return Ok(Verdict::fail(
                    expected,
                    format!(
                        "{name} was never deleted after {file} was written ({}): the daemon's event \
                         history since {} holds no removal of it{moved}",
                        clock(mtime),
                        clock_nanos(covered_from)
                    ),
                    drill,
                ));
            }
            Some(Since::Unknown { .. }) | None => {}
        }
        if !newer {
            let ago = (Utc::now() - created).num_seconds().max(0);
            return Ok(Verdict::fail(
                expected,
                format!(
                    "{name} was never deleted after {file} was written ({}): it was created at {} \
                     ({ago} s ago), before that",
                    clock(mtime),
                    clock(created)
                ),
                drill,
            ));
        }
        // No history reaches back to the backup: the creation time is all there is.
        let unread = snap
            .history_unread
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        Ok(match &snap.engine {
            Some(Ok(engine)) if !engine.created_at_moves => Verdict::pass(format!(
                "{name} was created at {}, after {file} ({}) ({} keeps a volume's creation time)",
                clock(created),
                clock(mtime),
                engine.name
            )),
            engine => {
                let which = match engine {
                    Some(Ok(e)) => e.name.clone(),
                    _ => "this engine".to_string(),
                };
                Verdict::pass(format!(
                    "{name} is newer than {file}, judged by its creation time alone ({}): the daemon's \
                     event history no longer reaches back to {}, when {file} was written{unread}, and \
                     {which} moves a volume's creation time whenever files change in it, so a volume \
                     restored in place would look the same (keep `workbook watch` running during the \
                     drill and it sees the removal itself)",
                    clock(created),
                    clock(mtime)
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::checks::history::VolumeHistory;
    use crate::checks::snapshot::EngineFacts;
    use crate::checks::Status;

    const S: i64 = 1_000_000_000;

    /// A snapshot with `backup.tar.gz` written now and volume ml-data created `created` s from now.
    fn drill(created: i64) -> (tempfile::TempDir, Snapshot, i64) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("backup.tar.gz"), "x").unwrap();
        let written = std::fs::metadata(dir.path().join("backup.tar.gz"))
            .unwrap()
            .modified()
            .map(|t| DateTime::<Utc>::from(t).timestamp_nanos_opt().unwrap())
            .unwrap();
        let mut snap = Snapshot::new(dir.path());
        let mut v = volume("ml-data", "local", &[], &[]);
        v.created_at = Some(Utc::now() + chrono::Duration::seconds(created));
        snap.volumes = Ok(vec![v]);
        snap.graded_at = written + 60 * S;
        (dir, snap, written)
    }

    fn check(file: &str) -> VolumeCreatedAfter {
        toml::from_str(&format!("volume='ml-data'\nhost_file='{file}'")).unwrap()
    }

    fn engine(created_at_moves: bool) -> Option<crate::checks::snapshot::Fetched<EngineFacts>> {
        Some(Ok(EngineFacts {
            name: if created_at_moves {
                "Docker Engine 20.10.24"
            } else {
                "Docker Engine 27.3.1"
            }
            .into(),
            created_at_moves,
            podman: false,
            unseen_host: None,
        }))
    }

    #[test]
    fn a_removal_after_the_backup_proves_the_drill() {
        let (_d, mut snap, written) = drill(5);
        let mut h = VolumeHistory::default();
        h.add_window(written - 10 * S, written + 60 * S);
        h.note_removal("ml-data", written + 3 * S);
        snap.history = Some(h);
        let v = check("backup.tar.gz").evaluate(&snap);
        assert!(v.is_pass(), "{v:?}");
        assert!(v.message.contains("was deleted at"), "{}", v.message);
    }

    #[test]
    fn restored_in_place_is_caught_by_the_history_even_when_its_time_moved() {
        // Docker 20.10: the restore moved CreatedAt past the backup. The history covers the
        // whole time since the backup and holds no removal.
        let (_d, mut snap, written) = drill(5);
        let mut h = VolumeHistory::default();
        h.add_window(written - 10 * S, written + 60 * S);
        // A removal of it BEFORE the backup, and of another volume after, change nothing.
        h.note_removal("ml-data", written - 5 * S);
        h.note_removal("models", written + 5 * S);
        snap.history = Some(h);
        snap.engine = engine(true);
        let v = check("backup.tar.gz").evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.message
                .contains("never deleted after backup.tar.gz was written"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("only because files changed in it"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("docker volume rm ml-data"),
            "{}",
            v.message
        );
    }

    #[test]
    fn without_history_the_creation_time_decides_and_says_how_far_it_can_be_trusted() {
        // Created before the backup: a fail whatever the engine.
        let (_d, mut snap, _) = drill(-30);
        snap.engine = engine(false);
        let v = check("backup.tar.gz").evaluate(&snap);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.message
                .contains("never deleted after backup.tar.gz was written")
                && v.message.contains("before that"),
            "{}",
            v.message
        );

        // Newer, on an engine that keeps creation times: a plain pass.
        let (_d, mut snap, written) = drill(5);
        let mut h = VolumeHistory::default();
        // Only from after the backup: it proves nothing about the time before.
        h.add_window(written + 2 * S, written + 60 * S);
        snap.history = Some(h);
        snap.engine = engine(false);
        let v = check("backup.tar.gz").evaluate(&snap);
        assert!(v.is_pass(), "{v:?}");
        assert!(
            v.message.contains("keeps a volume's creation time"),
            "{}",
            v.message
        );

        // Newer, on an engine that moves them: a pass that says what it rests on.
        snap.engine = engine(true);
        snap.history_unread = Some("the daemon refused it".into());
        let v = check("backup.tar.gz").evaluate(&snap);
        assert!(v.is_pass(), "{v:?}");
        assert!(
            v.message.contains("judged by its creation time alone"),
            "{}",
            v.message
        );
        assert!(v.message.contains("the daemon refused it"), "{}", v.message);
    }

    #[test]
    fn the_setup_labels_and_a_missing_backup_are_reported_first() {
        let (_d, mut snap, _) = drill(5);
        let mut v = volume(
            "ml-data",
            "local",
            &[(crate::docker::labels::MANAGED, "true")],
            &[],
        );
        v.created_at = Some(Utc::now() + chrono::Duration::seconds(5));
        snap.volumes = Ok(vec![v]);
        assert!(check("backup.tar.gz")
            .evaluate(&snap)
            .message
            .contains("it was never deleted"));
        assert!(check("missing.tar.gz")
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
        crate::util::hostfile::make_fifo(&ex.join("pipe.tar.gz"));
        let mut snap = crate::checks::snapshot::Snapshot::new(&ex);
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
