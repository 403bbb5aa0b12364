//! The facts a grading run reads from the daemon, gathered up front and read-only.
//!
//! Checks declare what they need ([`Needs`]); [`gather`] fetches it with as few Engine API calls
//! as it can (one volume list, one container list, one inspect per targeted container, one probe
//! per volume whose files are read, all concurrent), then the checks judge the [`Snapshot`].
//! Nothing here creates, starts or changes a learner's resource.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::models::{ContainerInspectResponse, ContainerSummary, Volume};
use bollard::Docker;
use futures_util::future::join_all;

use crate::archive::Manifest;
use crate::checks::{Target, Verdict, VolumeRef};
use crate::engine::{all_containers, all_volumes, describe};
use crate::history::VolumeHistory;
use crate::{exec, history, probe};

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
    /// Volumes whose removals since a host file was written matter (a backup, then a drill):
    /// the daemon's event history is read when the file exists.
    pub histories: Vec<(VolumeRef, String)>,
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
}

/// What kind of engine answers, as far as grading cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineFacts {
    /// "Docker Engine 20.10.24", "Podman 4.3.1".
    pub name: String,
    /// The engine reports a local volume's last content change as its `CreatedAt` (Docker
    /// Engine before 23.0), so that time cannot tell a re-created volume from a restored one.
    pub created_at_moves: bool,
}

impl EngineFacts {
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
            unmountable: HashMap::new(),
            unlisted: HashMap::new(),
            graded_at: history::now_nanos(),
            history: None,
            history_unread: None,
            engine: None,
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
    pub fn file(&self, volume: &VolumeRef, path: &str) -> Result<Option<&FileFact>, Verdict> {
        self.mountable(volume)?;
        match self.files.get(&(volume.clone(), normalise_path(path))) {
            Some(Ok(fact)) => Ok(fact.as_ref()),
            Some(Err(e)) => Err(Verdict::error(e.clone())),
            None => Err(Verdict::error(format!(
                "internal: {path} in volume {volume} was not read (a check forgot to declare it)"
            ))),
        }
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
        match self.trees.get(volume) {
            Some(Ok(m)) => Ok(m),
            Some(Err(e)) => Err(Verdict::error(e.clone())),
            None => match self.unlisted.get(volume) {
                // Written while this grading ran (a backup finishing): the next one sees it.
                Some(file) => Err(Verdict::error(format!(
                    "{file} appeared while this check ran, after volume {volume} was read; \
                     run the check again"
                ))),
                None => Err(Verdict::error(format!(
                    "internal: volume {volume} was not listed (a check forgot to declare it)"
                ))),
            },
        }
    }

    /// The result of a command run in a container (when a check declared [`Needs::exec`]).
    pub fn exec(&self, target: &Target, command: &[String]) -> Result<&exec::ExecResult, Verdict> {
        match self.execs.get(&(target.clone(), command.to_vec())) {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => Err(Verdict::error(e.clone())),
            None => Err(Verdict::error(format!(
                "internal: `{}` was not run in {target}",
                command.join(" ")
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

/// What the gradings of one session share (one `watch`, or one command): the volume history
/// gathered so far, and the results of recent exec checks.
#[derive(Debug, Default)]
pub struct Memory {
    /// Volume removals known so far; each grading that reads the daemon's event history adds
    /// to it, and `watch` adds what its event stream sees.
    pub history: Mutex<VolumeHistory>,
    /// Exec results are reused for this long while their container is unchanged (same id,
    /// same start); `None` runs every exec check at every grading.
    pub exec_reuse: Option<Duration>,
    execs: Mutex<HashMap<(String, Vec<String>), CachedExec>>,
    /// Volumes the last grading read through a probe that named them (driver options), which
    /// the daemon counts as using the volume while it exists.
    named_probes: Mutex<std::collections::HashSet<String>>,
}

#[derive(Debug, Clone)]
struct CachedExec {
    started_at: Option<String>,
    at: Instant,
    result: exec::ExecResult,
}

/// How far back the event history is asked for, before the earliest moment that matters: the
/// history must hold an event older than that moment to prove what happened after it.
const HISTORY_LEAD_SECS: u64 = 3600;
/// The most events one history read takes (Docker keeps 256; Podman keeps everything).
const HISTORY_MAX_EVENTS: usize = 50_000;
/// How long one history read may take.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);

impl Memory {
    /// A memory that reuses exec results for `reuse` (what `watch` uses).
    pub fn reusing_execs(reuse: Duration) -> Memory {
        Memory {
            exec_reuse: Some(reuse),
            ..Memory::default()
        }
    }

    /// A memory that starts from a stored history.
    pub fn with_history(history: VolumeHistory) -> Memory {
        Memory {
            history: Mutex::new(history),
            ..Memory::default()
        }
    }

    /// Volumes the last grading read through a probe that named them.
    pub fn named_probes(&self) -> std::collections::HashSet<String> {
        self.named_probes
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// The history known now.
    pub fn history(&self) -> VolumeHistory {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Runs `command` in container `id`, or reuses a result of it young enough, from a
    /// container that has not been restarted since.
    async fn exec(
        &self,
        docker: &Docker,
        id: &str,
        command: &[String],
    ) -> Fetched<exec::ExecResult> {
        let key = (id.to_string(), command.to_vec());
        let started_at = || async {
            docker
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await
                .ok()
                .and_then(|c| c.state.and_then(|s| s.started_at))
        };
        let Some(reuse) = self.exec_reuse else {
            return exec::run(docker, id, command).await;
        };
        let cached = self.execs.lock().ok().and_then(|c| c.get(&key).cloned());
        let started = started_at().await;
        if let Some(c) = cached {
            if c.at.elapsed() < reuse && c.started_at == started && started.is_some() {
                return Ok(c.result);
            }
        }
        let result = exec::run(docker, id, command).await;
        if let (Ok(r), Ok(mut cache)) = (&result, self.execs.lock()) {
            cache.retain(|_, c| c.at.elapsed() < reuse);
            cache.insert(
                key,
                CachedExec {
                    started_at: started,
                    at: Instant::now(),
                    result: r.clone(),
                },
            );
        }
        result
    }
}

/// The earliest time (unix seconds) one of `needs`' history files was written, if any exists.
fn earliest_history_moment(exercise_dir: &Path, needs: &Needs) -> Option<u64> {
    needs
        .histories
        .iter()
        .filter_map(|(_, file)| crate::hostfile::open(exercise_dir, file).ok())
        .filter_map(|f| f.metadata.modified().ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .min()
}

/// The daemon's event history from `since` (unix seconds) to `until` (unix nanoseconds):
/// every volume removal in it, and the stretch of time it covers.
async fn read_history(docker: &Docker, since: u64, until: i64) -> Result<VolumeHistory, String> {
    use futures_util::StreamExt;
    let opts = bollard::query_parameters::EventsOptions {
        since: Some(since.to_string()),
        until: Some((until / 1_000_000_000 + 1).to_string()),
        filters: None,
    };
    let mut stream = docker.events(Some(opts));
    let mut reader = history::Reader::default();
    let read = async {
        let mut n = 0;
        while let Some(ev) = stream.next().await {
            let ev = ev.map_err(|e| describe("reading the daemon's event history", &e))?;
            reader.push(&ev);
            n += 1;
            if n >= HISTORY_MAX_EVENTS {
                return Ok::<bool, String>(false);
            }
        }
        Ok(true)
    };
    let complete = tokio::time::timeout(HISTORY_TIMEOUT, read)
        .await
        .map_err(|_| {
            format!(
                "the daemon's event history took over {} s to read",
                HISTORY_TIMEOUT.as_secs()
            )
        })??;
    Ok(reader.finish(complete.then_some(until)))
}

/// The engine's name and how it keeps volume times.
async fn engine_facts(docker: &Docker) -> Fetched<EngineFacts> {
    docker
        .version()
        .await
        .map(|v| EngineFacts::from_version(&v))
        .map_err(|e| describe("asking the daemon for its version", &e))
}

/// Reads everything `needs` asks for. Daemon failures become `Err` facts (graded as `error`).
pub async fn gather(docker: &Docker, exercise_dir: &Path, needs: &Needs) -> Snapshot {
    gather_with(docker, exercise_dir, needs, &Memory::default()).await
}

/// [`gather`], sharing `memory` with the other gradings of the session.
pub async fn gather_with(
    docker: &Docker,
    exercise_dir: &Path,
    needs: &Needs,
    memory: &Memory,
) -> Snapshot {
    let mut snap = Snapshot::new(exercise_dir);
    let moment = earliest_history_moment(exercise_dir, needs);
    let graded_at = snap.graded_at;
    let history = async {
        match moment {
            Some(m) => {
                let since = m.saturating_sub(HISTORY_LEAD_SECS);
                let (h, facts) =
                    tokio::join!(read_history(docker, since, graded_at), engine_facts(docker));
                Some((h, facts))
            }
            None => None,
        }
    };
    let (volumes, containers, history) =
        tokio::join!(all_volumes(docker), all_containers(docker), history);
    if let Some((fetched, facts)) = history {
        let mut known = memory.history.lock().map(|h| h.clone()).unwrap_or_default();
        match fetched {
            Ok(h) => {
                known.merge(&h);
                if let Ok(mut m) = memory.history.lock() {
                    m.merge(&h);
                }
            }
            Err(e) => snap.history_unread = Some(e),
        }
        snap.history = Some(known);
        snap.engine = Some(facts);
    }
    snap.volumes = volumes;
    // The workbook's own helpers (this run's probes, another run's, a seeder) are not graded:
    // a probe mounting a volume must not make `volume-unused` fail, in `check --all` or beside `watch`.
    snap.containers = containers.map(|all| {
        all.into_iter()
            .filter(|c| !crate::labels::is_helper(c.labels.as_ref()))
            .collect()
    });

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

    // Probe only volumes that exist: mounting a missing one would create it. One probe per
    // volume serves every path and listing asked of it.
    let mut per_volume: BTreeMap<String, (Vec<VolumeRef>, probe::Wanted, Volume)> = BTreeMap::new();
    let mut trees = needs.trees.clone();
    for (r, file) in &needs.trees_if_file {
        if trees.contains(r) {
            continue;
        }
        if exercise_dir.join(file).exists() {
            trees.push(r.clone());
        } else {
            snap.unlisted.insert(r.clone(), file.clone());
        }
    }
    let unlisted: Vec<VolumeRef> = snap.unlisted.keys().cloned().collect();
    for r in unlisted.iter().filter(|r| trees.contains(r)) {
        snap.unlisted.remove(r);
    }
    let refs: Vec<&VolumeRef> = needs
        .files
        .keys()
        .chain(needs.stats.keys())
        .chain(trees.iter())
        .collect();
    for r in refs {
        if let Ok(Some(v)) = r.resolve(&snap) {
            let (refs, wanted, _) = per_volume
                .entry(v.name.clone())
                .or_insert_with(|| (Vec::new(), probe::Wanted::default(), v.clone()));
            if !refs.contains(r) {
                refs.push(r.clone());
            }
            for p in needs.files.get(r).into_iter().flatten() {
                if !wanted.full.contains(p) {
                    wanted.full.push(p.clone());
                }
            }
            for p in needs.stats.get(r).into_iter().flatten() {
                if !wanted.stat.contains(p) {
                    wanted.stat.push(p.clone());
                }
            }
            wanted.tree |= trees.contains(r);
        }
    }
    // A path read whole needs no stat.
    for (_, wanted, _) in per_volume.values_mut() {
        let full = wanted.full.clone();
        wanted.stat.retain(|p| !full.contains(p));
    }
    let reads = join_all(
        per_volume
            .iter()
            .map(|(name, (_, wanted, volume))| async move {
                (name.clone(), probe::read(docker, volume, wanted).await)
            }),
    );
    let execs = join_all(needs.execs.iter().map(|(target, cmd)| {
        let found = target.resolve(&snap).ok().and_then(|c| c.id.clone());
        async move {
            let r = match found {
                Some(id) => memory.exec(docker, &id, cmd).await,
                None => Err(format!("{target} was not found")),
            };
            ((target.clone(), cmd.clone()), r)
        }
    }));
    let (inspects, reads, execs) = tokio::join!(inspects, reads, execs);
    snap.inspected.extend(inspects);
    snap.execs.extend(execs);
    if let Ok(mut named) = memory.named_probes.lock() {
        *named = reads
            .iter()
            .filter(|(_, r)| r.as_ref().is_ok_and(|r| r.named))
            .map(|(name, _)| name.clone())
            .collect();
    }
    for (name, result) in reads {
        let (refs, wanted, _) = &per_volume[&name];
        let paths: Vec<&String> = wanted.full.iter().chain(&wanted.stat).collect();
        for r in refs {
            match &result {
                Ok(read) if read.unmountable.is_some() => {
                    snap.unmountable
                        .insert(r.clone(), read.unmountable.clone().unwrap_or_default());
                }
                Ok(read) => {
                    for (path, fact) in &read.files {
                        snap.files.insert((r.clone(), path.clone()), fact.clone());
                    }
                    if let Some(tree) = &read.tree {
                        snap.trees.insert(r.clone(), tree.clone());
                    }
                }
                Err(e) => {
                    for path in &paths {
                        snap.files
                            .insert((r.clone(), (*path).clone()), Err(e.clone()));
                    }
                    snap.trees.insert(r.clone(), Err(e.clone()));
                }
            }
        }
    }
    snap
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
