//! The facts a grading run reads from the daemon, gathered up front and read-only.
//!
//! Checks declare what they need ([`Needs`]); [`gather`] fetches it with as few Engine API calls
//! as it can (one volume list, one container list, one inspect per targeted container, one probe
//! per volume whose files are read, all concurrent), then the checks judge the [`Snapshot`].
//! Nothing here creates, starts or changes a learner's resource.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::models::{ContainerInspectResponse, ContainerSummary, Volume};
use bollard::query_parameters::{ListContainersOptionsBuilder, ListVolumesOptions};
use bollard::Docker;
use futures_util::future::join_all;

use crate::checks::{Target, Verdict};
use crate::engine::describe;
use crate::probe;

/// What the checks of a grading run want to read.
#[derive(Debug, Default, Clone)]
pub struct Needs {
    pub inspect: Vec<Target>,
    /// Volume name → paths inside it.
    pub files: BTreeMap<String, Vec<String>>,
}

impl Needs {
    pub fn inspect(&mut self, target: Target) {
        if !self.inspect.contains(&target) {
            self.inspect.push(target);
        }
    }

    pub fn file(&mut self, volume: &str, path: &str) {
        let paths = self.files.entry(volume.to_string()).or_default();
        let path = normalise_path(path);
        if !paths.contains(&path) {
            paths.push(path);
        }
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
    pub uid: u64,
    pub gid: u64,
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    pub size: u64,
    /// The bytes of a regular file, when it is small enough to read (see [`probe::CONTENT_LIMIT`]).
    pub content: Option<Vec<u8>>,
}

pub type Fetched<T> = Result<T, String>;

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub exercise_dir: PathBuf,
    canonical_dir: PathBuf,
    pub volumes: Fetched<Vec<Volume>>,
    pub containers: Fetched<Vec<ContainerSummary>>,
    /// By container id.
    pub inspected: HashMap<String, Fetched<ContainerInspectResponse>>,
    /// By (volume, normalised path); `Ok(None)` when the path does not exist.
    pub files: HashMap<(String, String), Fetched<Option<FileFact>>>,
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
        }
    }

    /// The volume named `name`, `Ok(None)` when there is none.
    pub fn volume(&self, name: &str) -> Result<Option<&Volume>, Verdict> {
        let all = self
            .volumes
            .as_ref()
            .map_err(|e| Verdict::error(e.clone()))?;
        Ok(all.iter().find(|v| v.name == name))
    }

    pub fn volume_names(&self) -> impl Iterator<Item = &str> {
        self.volumes.iter().flatten().map(|v| v.name.as_str())
    }

    /// The full inspect of a container found by [`Target::resolve`].
    pub fn inspect(&self, c: &ContainerSummary) -> Result<&ContainerInspectResponse, Verdict> {
        let id = c.id.as_deref().unwrap_or_default();
        match self.inspected.get(id) {
            Some(Ok(info)) => Ok(info),
            Some(Err(e)) => Err(Verdict::error(e.clone())),
            None => Err(Verdict::error(format!(
                "internal: container {id} was not inspected (a check forgot to declare it)"
            ))),
        }
    }

    /// A path inside a volume, `Ok(None)` when it does not exist.
    pub fn file(&self, volume: &str, path: &str) -> Result<Option<&FileFact>, Verdict> {
        match self.files.get(&(volume.to_string(), normalise_path(path))) {
            Some(Ok(fact)) => Ok(fact.as_ref()),
            Some(Err(e)) => Err(Verdict::error(e.clone())),
            None => Err(Verdict::error(format!(
                "internal: {path} in volume {volume} was not read (a check forgot to declare it)"
            ))),
        }
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

/// `path` with links resolved when it exists, as given otherwise.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Reads everything `needs` asks for. Daemon failures become `Err` facts (graded as `error`).
pub async fn gather(docker: &Docker, exercise_dir: &Path, needs: &Needs) -> Snapshot {
    let mut snap = Snapshot::new(exercise_dir);
    let list_opts = ListContainersOptionsBuilder::default().all(true).build();
    let (volumes, containers) = tokio::join!(
        docker.list_volumes(None::<ListVolumesOptions>),
        docker.list_containers(Some(list_opts)),
    );
    snap.volumes = volumes
        .map(|r| r.volumes.unwrap_or_default())
        .map_err(|e| describe("listing volumes", &e));
    snap.containers = containers.map_err(|e| describe("listing containers", &e));

    let ids: Vec<String> = needs
        .inspect
        .iter()
        .filter_map(|t| t.resolve(&snap).ok())
        .filter_map(|c| c.id.clone())
        .collect();
    let inspects = join_all(ids.iter().map(|id| async move {
        let r = docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| describe(&format!("inspecting container {id}"), &e));
        (id.clone(), r)
    }));

    // Probe only volumes that exist: mounting a missing one would create it.
    let existing: Vec<(&String, &Vec<String>)> = needs
        .files
        .iter()
        .filter(|(vol, _)| matches!(snap.volume(vol), Ok(Some(_))))
        .collect();
    let reads = join_all(existing.iter().map(|(vol, paths)| async move {
        (vol.to_string(), probe::read_paths(docker, vol, paths).await)
    }));
    let (inspects, reads) = tokio::join!(inspects, reads);
    snap.inspected.extend(inspects);
    for (vol, result) in reads {
        match result {
            Ok(map) => {
                for (path, fact) in map {
                    snap.files.insert((vol.clone(), path), fact);
                }
            }
            Err(e) => {
                for path in &needs.files[&vol] {
                    snap.files
                        .insert((vol.clone(), path.clone()), Err(e.clone()));
                }
            }
        }
    }
    snap
}
