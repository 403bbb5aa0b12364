//! Gathering: the facts an exercise's checks need, read from the daemon with as few Engine API
//! calls as it can (one volume list, one container list, one inspect per targeted container, one
//! probe per volume whose files are read, all concurrent), into a [`Snapshot`] the checks judge.
//! [`Memory`] is what the gradings of one session share. Nothing here creates, starts or changes a
//! learner's resource.

use crate::util::error::Result;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::models::Volume;
use bollard::Docker;
use futures_util::future::join_all;

use crate::checks::history::{self, VolumeHistory};
use crate::checks::snapshot::{EngineFacts, Fetched, Needs, Snapshot};
use crate::checks::volume_ref::{declared_project_names, COMPOSE_FILES};
use crate::checks::VolumeRef;
use crate::docker::engine::{all_containers, all_volumes, describe};
use crate::docker::exec;
use crate::grading::probe;

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
    /// The engine's facts, once read (the engine does not change within a session).
    engine: Mutex<Option<EngineFacts>>,
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

    /// The engine's facts, read once per memory; `host_files`: also find out whether it sees
    /// this machine's files (`dir`: where the marker may be written).
    async fn engine(&self, docker: &Docker, host_files: bool, dir: &Path) -> Fetched<EngineFacts> {
        let known = self.engine.lock().ok().and_then(|e| e.clone());
        let mut facts = match known {
            Some(f) => f,
            None => {
                let f = engine_facts(docker).await?;
                if let Ok(mut e) = self.engine.lock() {
                    *e = Some(f.clone());
                }
                f
            }
        };
        if host_files {
            // Cached per process and endpoint by the locality module itself.
            facts.unseen_host = crate::grading::locality::unseen_host(docker, dir).await;
        }
        Ok(facts)
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
            return exec::run(docker, id, command)
                .await
                .map_err(|e| e.to_string());
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
        result.map_err(|e| e.to_string())
    }
}

/// The earliest time (unix seconds) one of `needs`' history files was written, if any exists.
fn earliest_history_moment(exercise_dir: &Path, needs: &Needs) -> Option<u64> {
    needs
        .histories
        .iter()
        .filter_map(|(_, file)| crate::util::hostfile::open(exercise_dir, file).ok())
        .filter_map(|f| f.metadata.modified().ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .min()
}

/// The daemon's event history from `since` (unix seconds) to `until` (unix nanoseconds):
/// every volume removal in it, and the stretch of time it covers.
async fn read_history(docker: &Docker, since: u64, until: i64) -> Result<VolumeHistory> {
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

/// The compose project names `dir` declares ([`declared_project_names`]): `COMPOSE_PROJECT_NAME`
/// as the learner's shell gave it to the workbook, the folder's `.env` and its compose file,
/// read through `util::hostfile` (inside the folder, regular files, the first 64 KiB).
pub fn compose_declared(dir: &Path) -> Vec<String> {
    let read = |name: &str| -> Option<String> {
        let file = crate::util::hostfile::open(dir, name).ok()?.file;
        let mut text = String::new();
        file.take(64 * 1024).read_to_string(&mut text).ok()?;
        Some(text)
    };
    let env = std::env::var("COMPOSE_PROJECT_NAME").ok();
    let dotenv = read(".env");
    let compose = COMPOSE_FILES.iter().find_map(|f| read(f));
    declared_project_names(env.as_deref(), dotenv.as_deref(), compose.as_deref())
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
/// Lines read from the end of a stopped container's log.
const LOG_TAIL: usize = 40;

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
    snap.compose_declared = compose_declared(exercise_dir);
    let moment = earliest_history_moment(exercise_dir, needs);
    let graded_at = snap.graded_at;
    // Podman's event log is a file it rotates at 1 MB and reads until the wall clock passes
    // `until`: a read may end early and still look complete, which would prove a removal never
    // happened. Its volume creation times are exact, so its event log is not read at all there
    // (what `watch` saw live is still used).
    let podman = memory
        .engine
        .lock()
        .ok()
        .and_then(|e| e.as_ref().map(|e| e.podman))
        .unwrap_or(false);
    let history = async {
        match moment {
            Some(_) if podman => Some(Err("not read on Podman".into())),
            Some(m) => {
                let since = m.saturating_sub(HISTORY_LEAD_SECS);
                Some(read_history(docker, since, graded_at).await)
            }
            None => None,
        }
    };
    // What the engine is: how volume times are kept (histories), how volumes can be read, what
    // steps need of it.
    let reads_volumes = !needs.files.is_empty()
        || !needs.stats.is_empty()
        || !needs.trees.is_empty()
        || !needs.trees_if_file.is_empty();
    let wants_engine = moment.is_some() || needs.engine || reads_volumes;
    let marker_dir = exercise_dir.parent().unwrap_or(exercise_dir);
    let engine = async {
        match wants_engine {
            true => Some(memory.engine(docker, needs.host_files, marker_dir).await),
            false => None,
        }
    };
    let (volumes, containers, history, engine) =
        tokio::join!(all_volumes(docker), all_containers(docker), history, engine);
    snap.engine = engine;
    let on_podman = matches!(&snap.engine, Some(Ok(e)) if e.podman);
    if let Some(fetched) = history {
        let mut known = memory.history.lock().map(|h| h.clone()).unwrap_or_default();
        match fetched {
            Ok(_) | Err(_) if on_podman => {}
            Ok(h) => {
                known.merge(&h);
                if let Ok(mut m) = memory.history.lock() {
                    m.merge(&h);
                }
            }
            Err(e) => snap.history_unread = Some(e.to_string()),
        }
        snap.history = Some(known);
    }
    snap.volumes = volumes.map_err(|e| e.to_string());
    // The workbook's own helpers (this run's probes, another run's, a seeder) are not graded:
    // a probe mounting a volume must not make `volume-unused` fail, in `check --all` or beside `watch`.
    snap.containers = containers
        .map(|all| {
            all.into_iter()
                .filter(|c| !crate::docker::labels::is_helper(c.labels.as_ref()))
                .collect()
        })
        .map_err(|e| e.to_string());

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
    // Not known (the daemon did not say its version): read as from Docker Engine.
    let facts = match &snap.engine {
        Some(Ok(f)) => f.clone(),
        _ => EngineFacts::from_version(&Default::default()),
    };
    let facts = &facts;
    let reads = join_all(
        per_volume
            .iter()
            .map(|(name, (_, wanted, volume))| async move {
                (
                    name.clone(),
                    probe::read(docker, volume, wanted, facts).await,
                )
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
    let stopped: Vec<String> = needs
        .logs
        .iter()
        .filter_map(|t| t.resolve(&snap).ok())
        .filter(|c| c.state != Some(bollard::models::ContainerSummaryStateEnum::RUNNING))
        .filter_map(|c| c.id.clone())
        .collect();
    let logs = join_all(stopped.iter().map(|id| async move {
        let r = crate::docker::logs::read(docker, id, Some(LOG_TAIL))
            .await
            .map(|(out, err)| out + &err)
            .map_err(|e| describe(&format!("reading the log of container {id}"), &e));
        (id.clone(), r)
    }));
    let (inspects, reads, execs, logs) = tokio::join!(inspects, reads, execs, logs);
    snap.inspected.extend(inspects);
    snap.execs.extend(execs);
    snap.logs.extend(logs);
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
                            .insert((r.clone(), (*path).clone()), Err(e.to_string()));
                    }
                    snap.trees.insert(r.clone(), Err(e.to_string()));
                }
            }
        }
    }
    snap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The folder's `.env` and compose file are read; a link out of the folder is not.
    #[test]
    fn the_names_a_folder_declares_are_read_from_its_files() {
        let env = std::env::var("COMPOSE_PROJECT_NAME").ok();
        let with_env = |names: Vec<&str>| -> Vec<String> {
            env.iter()
                .cloned()
                .chain(names.iter().map(|n| n.to_string()))
                .collect()
        };
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(compose_declared(dir.path()), with_env(vec![]));
        std::fs::write(
            dir.path().join("compose.yaml"),
            "name: lab-one\nservices: {}\n",
        )
        .unwrap();
        assert_eq!(compose_declared(dir.path()), with_env(vec!["lab-one"]));
        std::fs::write(dir.path().join(".env"), "COMPOSE_PROJECT_NAME=lab_env\n").unwrap();
        assert_eq!(
            compose_declared(dir.path()),
            with_env(vec!["lab_env", "lab-one"])
        );
        // compose.yaml comes before docker-compose.yml, as Compose v2 picks it.
        std::fs::write(dir.path().join("docker-compose.yml"), "name: other\n").unwrap();
        assert_eq!(
            compose_declared(dir.path()),
            with_env(vec!["lab_env", "lab-one"])
        );
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("env"), "COMPOSE_PROJECT_NAME=far\n").unwrap();
        std::fs::remove_file(dir.path().join(".env")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("env"), dir.path().join(".env")).unwrap();
        assert_eq!(compose_declared(dir.path()), with_env(vec!["lab-one"]));
    }
}
