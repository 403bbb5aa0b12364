//! Check kinds: one small module each. A check declares which facts it needs ([`Needs`]) and
//! judges a [`Snapshot`] of them ([`Check::evaluate`]); it never talks to the daemon itself,
//! so every kind is unit-tested against Engine API fixtures.

use crate::util::error::Result;
use serde::{Deserialize, Serialize};

use crate::checks::snapshot::{Needs, Snapshot};

mod backup_archive;
pub mod capability;
mod container_running;
mod container_user;
mod exec_check;
pub mod history;
mod host_file;
pub mod host_path;
mod mount;
pub mod mounts_view;
pub mod size;
pub mod snapshot;
mod sql_dump;
pub mod target;
mod tmpfs;
mod volume;
mod volume_created_after;
pub mod volume_file;
mod volume_file_count;
mod volume_matches_archive;
pub mod volume_ref;
mod volume_unused;

pub use backup_archive::BackupArchive;
pub use container_running::ContainerRunning;
pub use container_user::ContainerUser;
pub use exec_check::ExecCheck;
pub use host_file::HostFile;
pub use mount::MountCheck;
pub use sql_dump::SqlDump;
pub use target::Target;
pub use tmpfs::Tmpfs;
pub use volume::VolumeCheck;
pub use volume_created_after::VolumeCreatedAfter;
pub use volume_file::VolumeFile;
pub use volume_file_count::VolumeFileCount;
pub use volume_matches_archive::VolumeMatchesArchive;
pub use volume_ref::VolumeRef;
pub use volume_unused::VolumeUnused;

/// One declarative check, as written in `[[steps.checks]]` with its `kind`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Check {
    Volume(VolumeCheck),
    VolumeUnused(VolumeUnused),
    VolumeFile(VolumeFile),
    ContainerRunning(ContainerRunning),
    Mount(MountCheck),
    Tmpfs(Tmpfs),
    HostFile(HostFile),
    VolumeFileCount(VolumeFileCount),
    VolumeCreatedAfter(VolumeCreatedAfter),
    ContainerUser(ContainerUser),
    Exec(ExecCheck),
    BackupArchive(BackupArchive),
    VolumeMatchesArchive(VolumeMatchesArchive),
    SqlDump(SqlDump),
}

/// What each check kind implements.
pub trait Kind {
    /// Refuses data that cannot make sense (e.g. both `container` and `service`).
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Adds the facts this check reads to `needs`.
    fn needs(&self, needs: &mut Needs);
    /// Whether the check compares with this machine's files (a bind mount of the exercise
    /// folder, a file a container wrote there, a backup archive): an engine that cannot see
    /// them cannot grade it ([`capability::Capability::HostFiles`]).
    fn host_files(&self) -> bool {
        false
    }
    /// Judges the facts. `Err` is a verdict reached before the judging could end (the volume or
    /// container is missing, the daemon could not give a fact): what `?` carries out of a look-up.
    fn judge(&self, snap: &Snapshot) -> Judged;
    /// The verdict. Never fails on missing data: that is a `fail` or an `error` verdict.
    fn evaluate(&self, snap: &Snapshot) -> Verdict {
        self.judge(snap).unwrap_or_else(|early| early)
    }
}

/// What [`Kind::judge`] returns: the verdict, or the one a look-up ended it with.
pub type Judged = Result<Verdict, Verdict>;

impl Check {
    fn kind(&self) -> &dyn Kind {
        match self {
            Check::Volume(c) => c,
            Check::VolumeUnused(c) => c,
            Check::VolumeFile(c) => c,
            Check::ContainerRunning(c) => c,
            Check::Mount(c) => c,
            Check::Tmpfs(c) => c,
            Check::HostFile(c) => c,
            Check::VolumeFileCount(c) => c,
            Check::VolumeCreatedAfter(c) => c,
            Check::ContainerUser(c) => c,
            Check::Exec(c) => c,
            Check::BackupArchive(c) => c,
            Check::VolumeMatchesArchive(c) => c,
            Check::SqlDump(c) => c,
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.kind().validate()
    }

    pub fn needs(&self, needs: &mut Needs) {
        self.kind().needs(needs)
    }

    pub fn evaluate(&self, snap: &Snapshot) -> Verdict {
        self.kind().evaluate(snap)
    }

    pub fn host_files(&self) -> bool {
        self.kind().host_files()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    /// The engine cannot do what the step asks ([`capability`]): neither a pass nor a fail.
    Unavailable,
}

impl Status {
    /// Nothing left to do for the learner: passed, or not available on this engine.
    pub fn settled(self) -> bool {
        matches!(self, Status::Pass | Status::Unavailable)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Unavailable => "unavailable",
        })
    }
}

/// The outcome of a check or a step: a status and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub message: String,
}

impl Verdict {
    /// Every message goes through these constructors, and each neutralises what it is given
    /// ([`crate::ui::safe_text`]): messages quote names from exercise data, file contents from
    /// volumes and the host, container output and daemon errors.
    pub fn pass(message: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Pass,
            message: crate::ui::safe_text::owned(message.into()),
        }
    }

    /// A failed check: what was expected, what was found, and how to fix it.
    pub fn fail(
        expected: impl AsRef<str>,
        found: impl AsRef<str>,
        fix: impl AsRef<str>,
    ) -> Verdict {
        let part = |s: &str| crate::ui::safe_text::text(s).into_owned();
        Verdict {
            status: Status::Fail,
            message: format!(
                "expected: {}\nfound:    {}\nfix:      {}",
                part(expected.as_ref()),
                part(found.as_ref()),
                part(fix.as_ref())
            ),
        }
    }

    /// The daemon (or the host) could not answer: not the learner's fault, not a failure.
    pub fn error(message: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Error,
            message: crate::ui::safe_text::owned(message.into()),
        }
    }

    /// The engine cannot do what the step asks: why, and what to do instead.
    pub fn unavailable(message: impl Into<String>) -> Verdict {
        Verdict {
            status: Status::Unavailable,
            message: crate::ui::safe_text::owned(message.into()),
        }
    }

    pub fn is_pass(&self) -> bool {
        self.status == Status::Pass
    }
}

/// The first `max` items joined with "; ", and how many more there are.
pub(crate) fn listed(items: Vec<String>, max: usize) -> String {
    let n = items.len();
    let mut shown: Vec<String> = items.into_iter().take(max).collect();
    if n > max {
        shown.push(format!("... and {} more", n - max));
    }
    shown.join("; ")
}

/// Short form of a did-you-mean suffix.
pub(crate) fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod verdict_tests {
    use super::*;

    #[test]
    fn every_constructor_neutralises_its_text() {
        let hostile = "v\x1b[2K\r\u{9b}\u{202e}\x07";
        for v in [
            Verdict::pass(hostile),
            Verdict::fail(hostile, hostile, hostile),
            Verdict::error(hostile.to_string()),
        ] {
            assert!(
                crate::ui::safe_text::is_inert(&v.message),
                "{:?}",
                v.message
            );
            assert!(
                v.message.contains("v\\x1b[2K\\r\\u{9b}\\u{202e}\\x07"),
                "{}",
                v.message
            );
        }
        // The layout of a failure keeps its own newlines.
        assert_eq!(Verdict::fail("a", "b", "c").message.lines().count(), 3);
    }
}

#[cfg(test)]
mod engine_fixtures;

#[cfg(test)]
mod desktop_fixtures;
