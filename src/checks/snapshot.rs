//! The facts a grading run reads from the daemon, gathered up front and read-only.
//!
//! Checks declare what they need ([`Needs`]); grading (`grading::gather`) fetches it with as few Engine API calls
//! as it can (one volume list, one container list, one inspect per targeted container, one probe
//! per volume whose files are read, all concurrent), then the checks judge the [`Snapshot`].
//! Nothing here creates, starts or changes a learner's resource.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::models::{ContainerInspectResponse, ContainerSummary, Volume};

use crate::archive::Manifest;
use crate::checks::history::VolumeHistory;
use crate::checks::host_path::{self, HostPath};
use crate::checks::{Target, Verdict, VolumeRef};
use crate::docker::exec;

/// What the checks of a grading run want to read.
#[derive(Debug, Default, Clone)]
pub struct Needs {
    pub inspect: Vec<Target>,
    /// Volume → paths inside it.
    pub files: BTreeMap<VolumeRef, Vec<String>>,
    /// Paths inside volumes of which kind, mode and size are enough.
    pub stats: BTreeMap<VolumeRef, Vec<String>>,
    /// Volumes whose whole content is listed (with file digests).
    pub trees: Vec<VolumeRef>,
    /// Volumes listed only when a file of the exercise folder exists (a backup archive that
    /// the listing is compared with): no probe for a step that fails on the missing file anyway.
    pub trees_if_file: Vec<(VolumeRef, String)>,
    /// Commands run in a running container (read-only ones: `cat`, `wget -qO-` ...).
    pub execs: Vec<(Target, Vec<String>)>,
    /// Containers whose last log lines are read when they are not running (why one stopped).
    pub logs: Vec<Target>,
    /// Volumes whose removals since a host file was written matter (a backup, then a drill):
    /// the daemon's event history is read when the file exists.
    pub histories: Vec<(VolumeRef, String)>,
    /// A step needs to know what the engine can do ([`crate::checks::capability`]).
    pub engine: bool,
    /// A step compares with this machine's files: whether the engine sees them is found out
    /// (once per process, on a TCP or ssh endpoint).
    pub host_files: bool,
}

impl Needs {
    pub fn inspect(&mut self, target: Target) {
        if !self.inspect.contains(&target) {
            self.inspect.push(target);
        }
    }

    /// A path inside a volume, read whole: kind, owner, mode, size and (small files) bytes.
    pub fn file(&mut self, volume: &VolumeRef, path: &str) {
        add_path(&mut self.files, volume, path);
    }

    /// A path inside a volume of which kind, mode and size are enough (no owner, no bytes):
    /// the daemon stats it (`HEAD` on the archive endpoint, a few milliseconds) instead of
    /// archiving it (tens of milliseconds). A path also asked with [`Needs::file`] is read whole.
    pub fn file_stat(&mut self, volume: &VolumeRef, path: &str) {
        add_path(&mut self.stats, volume, path);
    }

    pub fn tree(&mut self, volume: &VolumeRef) {
        if !self.trees.contains(volume) {
            self.trees.push(volume.clone());
        }
    }

    /// [`Needs::tree`], when `host_file` (relative to the exercise folder) exists at grading time.
    pub fn tree_if_file(&mut self, volume: &VolumeRef, host_file: &str) {
        let key = (volume.clone(), host_file.to_string());
        if !self.trees_if_file.contains(&key) {
            self.trees_if_file.push(key);
        }
    }

    pub fn exec(&mut self, target: Target, command: &[String]) {
        let key = (target, command.to_vec());
        if !self.execs.contains(&key) {
            self.execs.push(key);
        }
    }

    /// The end of the log of `target`'s container, when it is not running.
    pub fn log_if_stopped(&mut self, target: Target) {
        if !self.logs.contains(&target) {
            self.logs.push(target);
        }
    }

    /// The removals of `volume` since `host_file` (relative to the exercise folder) was written.
    pub fn history(&mut self, volume: &VolumeRef, host_file: &str) {
        let key = (volume.clone(), host_file.to_string());
        if !self.histories.contains(&key) {
            self.histories.push(key);
        }
    }
}

/// Adds `path` (normalised) to the paths asked of `volume`, once.
fn add_path(map: &mut BTreeMap<VolumeRef, Vec<String>>, volume: &VolumeRef, path: &str) {
    let paths = map.entry(volume.clone()).or_default();
    let path = normalise_path(path);
    if !paths.contains(&path) {
        paths.push(path);
    }
}

/// `./a//b/` → `a/b`; the volume root is `.`.
pub fn normalise_path(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// A path inside a volume as the archive endpoint reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    pub kind: FileKind,
    /// Owner; `None` when only the path was stat'ed ([`Needs::file_stat`]).
    pub uid: Option<u64>,
    pub gid: Option<u64>,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    pub size: u64,
    /// The bytes of a regular file, when it is small enough to read (see [`probe::CONTENT_LIMIT`]).
    pub content: Option<Vec<u8>>,
}

pub type Fetched<T> = Result<T, String>;

/// A fact the daemon was asked for, or the error verdict saying why it could not give it.
pub fn fetched<T>(fact: &Fetched<T>) -> Result<&T, Verdict> {
    fact.as_ref().map_err(|e| Verdict::error(e.clone()))
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub exercise_dir: PathBuf,
    canonical_dir: PathBuf,
    pub volumes: Fetched<Vec<Volume>>,
    pub containers: Fetched<Vec<ContainerSummary>>,
    /// By container id.
    pub inspected: HashMap<String, Fetched<ContainerInspectResponse>>,
    /// By (volume, normalised path); `Ok(None)` when the path does not exist.
    pub files: HashMap<(VolumeRef, String), Fetched<Option<FileFact>>>,
    /// Whole-volume listings.
    pub trees: HashMap<VolumeRef, Fetched<Manifest>>,
    /// Results of commands run in containers.
    pub execs: HashMap<(Target, Vec<String>), Fetched<exec::ExecResult>>,
    /// The last lines of the logs of stopped containers ([`Needs::log_if_stopped`]), by id:
    /// standard output then standard error.
    pub logs: HashMap<String, Fetched<String>>,
    /// Volumes the daemon could not mount, with its message.
    pub unmountable: HashMap<VolumeRef, String>,
    /// Volumes not listed because the file they are compared with did not exist when the
    /// grading began ([`Needs::tree_if_file`]), with that file.
    pub unlisted: HashMap<VolumeRef, String>,
    /// When this grading began (unix nanoseconds): what a history must cover up to.
    pub graded_at: i64,
    /// Volume removals known from the daemon's event history and earlier gradings (when a check
    /// declared [`Needs::history`]).
    pub history: Option<VolumeHistory>,
    /// Why the daemon's event history could not be read this time, if it could not.
    pub history_unread: Option<String>,
    /// The engine, when a check needs to know how it keeps volume times.
    pub engine: Option<Fetched<EngineFacts>>,
    /// The compose project names the exercise folder declares (`COMPOSE_PROJECT_NAME`, `.env`,
    /// `name:`), read when grading began
    /// ([`crate::checks::volume_ref::declared_project_names`]).
    pub compose_declared: Vec<String>,
}

/// What kind of engine answers, as far as grading cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineFacts {
    /// "Docker Engine 20.10.24", "Podman 4.3.1".
    pub name: String,
    /// The engine reports a local volume's last content change as its `CreatedAt` (Docker
    /// Engine before 23.0), so that time cannot tell a re-created volume from a restored one.
    pub created_at_moves: bool,
    /// Podman (its Docker-compatible API), which differs where [`EngineFacts::archive_gives_owners`]
    /// and [`EngineFacts::mounts_unstarted`] say.
    pub podman: bool,
    /// Why the engine cannot see this machine's files (a remote engine: a file written in the
    /// workspace was not visible in a container binding it), when that was found.
    pub unseen_host: Option<String>,
}

impl EngineFacts {
    /// Docker Engine 20.10.24 or Podman 4.3.1, as the unit tests of what an engine can do use
    /// them.
    #[cfg(test)]
    pub fn for_test(podman: bool, unseen_host: Option<&str>) -> EngineFacts {
        EngineFacts {
            name: if podman {
                "Podman 4.3.1"
            } else {
                "Docker Engine 20.10.24"
            }
            .into(),
            created_at_moves: !podman,
            podman,
            unseen_host: unseen_host.map(String::from),
        }
    }

    /// Whether the archive endpoint reports files' owners (Podman 4.3: every entry is 0:0).
    pub fn archive_gives_owners(&self) -> bool {
        !self.podman
    }

    /// Whether a container that was created but never started has mounted a volume with driver
    /// options (Podman 4.3 mounts those only at start: a probe sees the empty `_data` folder).
    pub fn mounts_unstarted(&self) -> bool {
        !self.podman
    }

    /// From the daemon's `/version`.
    pub fn from_version(v: &bollard::models::SystemVersion) -> EngineFacts {
        let podman = v
            .components
            .iter()
            .flatten()
            .find(|c| c.name.contains("Podman"));
        if let Some(p) = podman {
            return EngineFacts {
                name: format!("Podman {}", p.version),
                created_at_moves: false,
                podman: true,
                unseen_host: None,
            };
        }
        let version = v.version.clone().unwrap_or_default();
        let major = version
            .split(['.', '+', '-'])
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        EngineFacts {
            name: format!("Docker Engine {version}"),
            // Unknown: assume the old behaviour, which only makes the verdicts more careful.
            created_at_moves: major.is_none_or(|m| m < 23),
            podman: false,
            unseen_host: None,
        }
    }
}

impl Snapshot {
    /// An empty snapshot for `exercise_dir` (fixtures fill it in tests).
    pub fn new(exercise_dir: &Path) -> Snapshot {
        Snapshot {
            exercise_dir: exercise_dir.to_path_buf(),
            canonical_dir: canonical(exercise_dir),
            volumes: Ok(Vec::new()),
            containers: Ok(Vec::new()),
            inspected: HashMap::new(),
            files: HashMap::new(),
            trees: HashMap::new(),
            execs: HashMap::new(),
            logs: HashMap::new(),
            unmountable: HashMap::new(),
            unlisted: HashMap::new(),
            graded_at: crate::util::clock::now_nanos(),
            history: None,
            history_unread: None,
            engine: None,
            compose_declared: Vec::new(),
        }
    }

    /// The volume named `name`, `Ok(None)` when there is none.
    pub fn volume(&self, name: &str) -> Result<Option<&Volume>, Verdict> {
        Ok(fetched(&self.volumes)?.iter().find(|v| v.name == name))
    }

    pub fn volume_names(&self) -> impl Iterator<Item = &str> {
        self.volumes.iter().flatten().map(|v| v.name.as_str())
    }

    /// The full inspect of a container found by [`Target::resolve`].
    pub fn inspect(&self, c: &ContainerSummary) -> Result<&ContainerInspectResponse, Verdict> {
        let id = c.id.as_deref().unwrap_or_default();
        let info = self.inspected.get(id).ok_or_else(|| {
            Verdict::error(format!(
                "internal: container {id} was not inspected (a check forgot to declare it)"
            ))
        })?;
        fetched(info)
    }

    /// A path inside a volume, `Ok(None)` when it does not exist.
    pub fn file(&self, volume: &VolumeRef, path: &str) -> Result<Option<&FileFact>, Verdict> {
        self.mountable(volume)?;
        let key = (volume.clone(), normalise_path(path));
        let fact = self.files.get(&key).ok_or_else(|| {
            Verdict::error(format!(
                "internal: {path} in volume {volume} was not read (a check forgot to declare it)"
            ))
        })?;
        Ok(fetched(fact)?.as_ref())
    }

    /// A fail verdict when the daemon could not mount the volume to read it.
    fn mountable(&self, volume: &VolumeRef) -> Result<(), Verdict> {
        match self.unmountable.get(volume) {
            None => Ok(()),
            Some(message) => Err(Verdict::fail(
                format!("volume {volume} to be usable"),
                format!("the daemon cannot mount it: {message}"),
                format!(
                    "look at its driver options (`docker volume inspect {}`): a `device` folder must exist on \
                     the Docker host and `o` must fit the `type`; fix them and re-create the volume",
                    volume.short()
                ),
            )),
        }
    }

    /// Everything in a volume (when a check declared [`Needs::tree`]).
    pub fn tree(&self, volume: &VolumeRef) -> Result<&Manifest, Verdict> {
        self.mountable(volume)?;
        let listing = self
            .trees
            .get(volume)
            .ok_or_else(|| match self.unlisted.get(volume) {
                // Written while this grading ran (a backup finishing): the next one sees it.
                Some(file) => Verdict::error(format!(
                    "{file} appeared while this check ran, after volume {volume} was read; \
                 run the check again"
                )),
                None => Verdict::error(format!(
                    "internal: volume {volume} was not listed (a check forgot to declare it)"
                )),
            })?;
        fetched(listing)
    }

    /// The result of a command run in a container (when a check declared [`Needs::exec`]).
    pub fn exec(&self, target: &Target, command: &[String]) -> Result<&exec::ExecResult, Verdict> {
        let key = (target.clone(), command.to_vec());
        let result = self.execs.get(&key).ok_or_else(|| {
            Verdict::error(format!(
                "internal: `{}` was not run in {target}",
                command.join(" ")
            ))
        })?;
        fetched(result)
    }

    /// Whether a path the daemon reports (a compose working dir, a bind source) is the exercise folder.
    pub fn is_exercise_dir(&self, dir: &str) -> bool {
        canonical(Path::new(dir)) == self.canonical_dir
    }

    /// A host path of the exercise, absolute and with links resolved where it exists.
    pub fn host_path(&self, relative: &str) -> PathBuf {
        canonical(&self.canonical_dir.join(relative))
    }
}

/// Whether a host path the engine reports or keeps (a bind's source, a volume's `device`) names
/// the folder `want` (absolute, links resolved: [`Snapshot::host_path`]), or with `within` a
/// path inside it. Docker Desktop's VM forms of the folder count ([`host_path::engine_forms`]).
pub fn names_folder(reported: &str, want: &Path, within: bool) -> bool {
    let want = HostPath::parse(&want.to_string_lossy());
    let exists_here = Path::new(reported).exists();
    host_path::engine_forms(reported, exists_here)
        .into_iter()
        .map(|form| match form {
            HostPath::Posix(p) => HostPath::Posix(canonical(&p)),
            drive => drive,
        })
        .any(|form| form.is_in(&want, within))
}

/// `path` with links resolved when it exists, as given otherwise.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Status;

    #[test]
    fn engines_that_move_a_volumes_creation_time_are_told_apart() {
        let version =
            |v: serde_json::Value| EngineFacts::from_version(&serde_json::from_value(v).unwrap());
        let old = version(serde_json::json!({"Version": "20.10.24+dfsg1", "ApiVersion": "1.41"}));
        assert!(old.created_at_moves, "{old:?}");
        assert_eq!(old.name, "Docker Engine 20.10.24+dfsg1");
        assert!(!version(serde_json::json!({"Version": "27.3.1"})).created_at_moves);
        assert!(!version(serde_json::json!({"Version": "23.0.0"})).created_at_moves);
        // Podman 4.3 says API 1.41 and a Docker-like version; its component names it.
        let podman = version(serde_json::json!({
            "Version": "4.3.1", "ApiVersion": "1.41",
            "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}]
        }));
        assert_eq!(podman.name, "Podman 4.3.1");
        assert!(!podman.created_at_moves);
        assert!(
            version(serde_json::json!({})).created_at_moves,
            "unknown: careful"
        );
    }

    #[test]
    fn an_archive_written_during_the_grading_asks_for_another_run() {
        let mut snap = Snapshot::new(Path::new("/nonexistent/workbook-exercise"));
        let vol = VolumeRef::Named("ml-data".into());
        snap.unlisted
            .insert(vol.clone(), "ml-data-backup.tar.gz".into());
        let v = snap.tree(&vol).unwrap_err();
        assert_eq!(v.status, Status::Error);
        assert!(
            v.message
                .contains("ml-data-backup.tar.gz appeared while this check ran"),
            "{}",
            v.message
        );
        // A listing nobody asked for is still the workbook's own mistake.
        let other = VolumeRef::Named("models".into());
        assert!(snap
            .tree(&other)
            .unwrap_err()
            .message
            .starts_with("internal:"));
    }
}
