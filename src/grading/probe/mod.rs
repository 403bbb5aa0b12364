//! Reading files inside a volume without touching the learner's containers.
//!
//! A probe is a container that is created but never started, with the volume mounted
//! read-only at `/probe`, no network and no capabilities. The archive endpoint shows the
//! volume's files through it; then the probe is removed, whatever happened.

use crate::util::error::Result;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bollard::models::{HostConfig, Mount, MountType, Volume};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use crate::archive::{self, Manifest};
use crate::checks::snapshot::{EngineFacts, Fetched, FileFact};
use crate::docker::engine::{describe, failed, is_not_found};
use crate::docker::helpers::{self, helper_body};
use crate::docker::images::TOOLS_IMAGE;
use crate::docker::labels;

mod facts;
mod started;

pub use facts::{fact_of_stat, first_entry, take_entries};

/// Regular files up to this size have their bytes read.
pub const CONTENT_LIMIT: u64 = 1024 * 1024;
/// How much of an archive stream is read to find the first entry and its bytes.
const STREAM_LIMIT: usize = CONTENT_LIMIT as usize + 64 * 1024;

const MOUNT_POINT: &str = "/probe";

/// What a probe mounts at its mount point, read-only.
enum Mounted<'a> {
    /// The volume, by name.
    Volume,
    /// The volume's folder on the daemon's host, bound (never created if missing).
    Folder(&'a str),
}

/// Creates a stopped probe container with `volume` mounted read-only; returns its id.
pub async fn create(docker: &Docker, volume: &str) -> Result<String> {
    create_with(docker, volume, Mounted::Volume).await
}

async fn create_with(docker: &Docker, volume: &str, mounted: Mounted<'_>) -> Result<String> {
    let host = match mounted {
        Mounted::Volume => HostConfig {
            binds: Some(vec![format!("{volume}:{MOUNT_POINT}:ro")]),
            ..Default::default()
        },
        // `mounts`, not `binds`: a missing source is an error instead of a folder the daemon
        // creates (which would bring the removed volume back at its next start).
        Mounted::Folder(folder) => HostConfig {
            mounts: Some(vec![Mount {
                typ: Some(MountType::BIND),
                source: Some(folder.to_string()),
                target: Some(MOUNT_POINT.to_string()),
                read_only: Some(true),
                ..Default::default()
            }]),
            ..Default::default()
        },
    };
    let body = helper_body(
        TOOLS_IMAGE,
        labels::ROLE_PROBE,
        vec!["true".to_string()],
        host,
    );
    match helpers::create(docker, body).await {
        Ok(id) => Ok(id),
        Err(e) if is_not_found(&e) => Err(format!(
            "the lab image {TOOLS_IMAGE} is missing, so volume {volume} cannot be read: run `workbook setup`"
        ).into()),
        Err(e) => Err(failed(&format!("creating a probe for volume {volume}"), e)),
    }
}

/// What one probe read from a volume.
#[derive(Debug, Default)]
pub struct VolumeRead {
    pub files: HashMap<String, Fetched<Option<FileFact>>>,
    pub tree: Option<Fetched<Manifest>>,
    /// The daemon could not mount the volume (e.g. its `device` folder does not exist): the
    /// learner's to fix, not a daemon failure.
    pub unmountable: Option<String>,
    /// The probe named the volume (instead of binding its folder): while it existed, the
    /// daemon counted the volume as in use.
    pub named: bool,
}

/// Why a read through the probe failed.
enum ReadError {
    Daemon(String),
    Unmountable(String),
}

/// Sorts an archive-endpoint error: a missing path is `Ok(None)`; a probe removed under us
/// (404 "No such container") and other failures are daemon errors; a mount failure is the
/// volume's own problem.
fn classify(e: &bollard::errors::Error, doing: &str) -> Result<Option<FileFact>, ReadError> {
    use bollard::errors::Error::DockerResponseServerError;
    match e {
        DockerResponseServerError { status_code: 404, message } if !no_such_container(message) => Ok(None),
        DockerResponseServerError { status_code: 404, .. } => Err(ReadError::Daemon(format!(
            "{doing}: the probe container was removed while it was read (by another program); run the check again"
        ))),
        DockerResponseServerError { message, .. } if message.contains("error while mounting volume") => {
            Err(ReadError::Unmountable(message.clone()))
        }
        other => Err(ReadError::Daemon(describe(doing, other))),
    }
}

/// Whether a 404's message says the container is missing (not the path in it): Docker says
/// "No such container: ID", Podman "no container with name or ID ... found: no such container".
pub fn no_such_container(message: &str) -> bool {
    message.to_ascii_lowercase().contains("no such container")
}

/// Several paths of one volume are read with one archive request of its root: every request
/// makes the daemon mount the probe's filesystem, tens of milliseconds each. A root larger than
/// this is cut short, and the paths not found in the part read are read one by one.
const COALESCE_LIMIT: usize = 4 * 1024 * 1024;

/// What to read from one volume, paths relative to its root.
#[derive(Debug, Default, Clone)]
pub struct Wanted {
    /// Paths read whole (owner, bytes): through the archive endpoint, ~40 ms a request.
    pub full: Vec<String>,
    /// Paths of which kind, mode and size are enough: a `HEAD` on the archive endpoint,
    /// which the daemon answers with a stat in a few milliseconds.
    pub stat: Vec<String>,
    /// The whole listing, with digests.
    pub tree: bool,
}

/// Whether probes may bind a volume's folder instead of naming the volume: cleared for this
/// process when the engine refuses such a bind, or keeps showing no folder through it.
static BIND_PROBES: AtomicBool = AtomicBool::new(true);
/// Bind-probe reads in a row that found no folder at the probe's mount point while the volume
/// was still there: an engine that does not mount binds of a never-started container (or a
/// learner removing and creating the volume again and again).
static UNMOUNTED_IN_A_ROW: AtomicUsize = AtomicUsize::new(0);
/// After this many, volumes are named again for the rest of the process.
const UNMOUNTED_LIMIT: usize = 3;

/// The folder a probe can bind instead of naming `volume`: a plain local volume (no driver
/// options: those are only mounted when a container names the volume) whose folder the daemon
/// reports.
fn bind_source(volume: &Volume) -> Option<&str> {
    let plain = volume.driver == "local" && volume.options.is_empty();
    let folder = volume.mountpoint.as_str();
    (plain && folder.starts_with('/') && BIND_PROBES.load(Ordering::SeqCst)).then_some(folder)
}

/// Reads what `wanted` asks of `volume` through one probe.
///
/// A plain local volume is read through a probe that binds its folder read-only instead of
/// naming the volume: the daemon counts no container as using the volume, so the learner's
/// `docker volume rm` or `prune` at that very moment is never refused ("volume is in use")
/// because the workbook was looking. Other volumes (driver options, plugins) are named, as the
/// driver must mount them.
pub async fn read(
    docker: &Docker,
    volume: &Volume,
    wanted: &Wanted,
    engine: &EngineFacts,
) -> Result<VolumeRead> {
    let name = volume.name.as_str();
    if needs_started_read(volume, wanted, engine) {
        return started::read(docker, name, wanted)
            .await
            .map_err(Into::into);
    }
    if let Some(folder) = bind_source(volume) {
        match create_with(docker, name, Mounted::Folder(folder)).await {
            Ok(id) => return Ok(read_through(docker, &id, name, wanted, Some(folder)).await),
            // Its folder went away between the listing and now: so did the volume.
            Err(e)
                if e.to_string().contains("does not exist")
                    || e.to_string().contains("no such file") =>
            {
                return Err(vanished(name).into())
            }
            Err(_) if !volume_exists(docker, name).await => return Err(vanished(name).into()),
            // The engine will not bind that folder (a sandboxed daemon): name volumes instead.
            Err(_) => BIND_PROBES.store(false, Ordering::SeqCst),
        }
    }
    let id = create(docker, name).await?;
    let mut read = read_through(docker, &id, name, wanted, None).await;
    read.named = true;
    Ok(read)
}

/// Whether `wanted` of `volume` must be read by a started helper on `engine`: its archive
/// endpoint gives no owners (and owners are wanted: whole paths, a listing), or a never-started
/// container does not mount a volume with driver options.
fn needs_started_read(volume: &Volume, wanted: &Wanted, engine: &EngineFacts) -> bool {
    let owners_wanted = !wanted.full.is_empty() || wanted.tree;
    let options = !(volume.driver == "local" && volume.options.is_empty());
    (owners_wanted && !engine.archive_gives_owners()) || (options && !engine.mounts_unstarted())
}

/// Whether the daemon still has volume `name` (a failed request counts as yes: the caller then
/// reads it the ordinary way and reports what that finds).
async fn volume_exists(docker: &Docker, name: &str) -> bool {
    match docker.inspect_volume(name).await {
        Ok(_) => true,
        Err(e) => !is_not_found(&e),
    }
}

fn vanished(volume: &str) -> String {
    format!("volume {volume} was removed while it was being read; run the check again")
}

/// Reads `wanted` through probe `id` (created for `volume`) and removes the probe. `bind`: the
/// volume's folder, which the probe binds.
async fn read_through(
    docker: &Docker,
    id: &str,
    volume: &str,
    wanted: &Wanted,
    bind: Option<&str>,
) -> VolumeRead {
    let id = id.to_string();
    let mut out = VolumeRead::default();
    let mut rest: Vec<String> = wanted.full.clone();
    let mut stats: Vec<String> = wanted.stat.clone();
    // Paths asked whole that a complete archive of the root did not hold: the daemon leaves
    // out what it cannot read or what vanished meanwhile, so absence is confirmed by a stat.
    let mut confirm: Vec<String> = Vec::new();
    if wanted.tree {
        match read_tree(docker, &id, volume).await {
            Ok((t, buf)) => {
                out.tree = Some(Ok(t));
                confirm.extend(take_entries(&buf, true, &mut rest, &mut out.files));
                // Not held: stat'ed below like the rest.
                let not_held = take_entries(&buf, true, &mut stats, &mut out.files);
                stats.extend(not_held);
            }
            Err(ReadError::Daemon(e)) => out.tree = Some(Err(e)),
            Err(ReadError::Unmountable(e)) => out.unmountable = Some(e),
        }
    } else if rest.len() > 1 {
        let doing = format!("reading volume {volume}");
        match download(docker, &id, ".", COALESCE_LIMIT, &doing).await {
            Ok(Some((buf, complete))) => {
                confirm.extend(take_entries(&buf, complete, &mut rest, &mut out.files));
                let not_held = take_entries(&buf, complete, &mut stats, &mut out.files);
                stats.extend(not_held);
            }
            Err(ReadError::Unmountable(e)) => out.unmountable = Some(e),
            // Read path by path below: each gets its own message.
            Ok(None) | Err(ReadError::Daemon(_)) => {}
        }
    }
    let mut absent_by_stat = Vec::new();
    if out.unmountable.is_none() {
        for path in confirm {
            match stat_one(docker, &id, &path).await {
                Stat::Absent => {
                    out.files.insert(path.clone(), Ok(None));
                    absent_by_stat.push(path);
                }
                // There after all, or no answer: read it alone, which says which.
                Stat::Found(_) | Stat::Failed => rest.push(path),
            }
        }
        for path in &rest {
            if !record(&mut out, path, read_one(docker, &id, volume, path).await) {
                break;
            }
        }
    }
    if out.unmountable.is_none() {
        for path in &stats {
            let fact = match stat_one(docker, &id, path).await {
                Stat::Found(fact) => Ok(Some(fact)),
                Stat::Absent => {
                    absent_by_stat.push(path.clone());
                    Ok(None)
                }
                // A HEAD answer has no body, so no reason: a GET says why (e.g. the volume
                // cannot be mounted), as if the path had been asked whole.
                Stat::Failed => read_one(docker, &id, volume, path).await,
            };
            if !record(&mut out, path, fact) {
                break;
            }
        }
    }
    // Through a bound folder, "no such path" may mean the folder itself is not there: the
    // volume was removed meanwhile (a daemon skips a bind whose source is gone), or the engine
    // does not mount binds of a never-started container. The probe's root tells; nothing read
    // then is a fact about the volume.
    let absent =
        out.files.values().any(|f| matches!(f, Ok(None))) || matches!(&out.tree, Some(Err(_)));
    if bind.is_some() && absent && matches!(stat_one(docker, &id, ".").await, Stat::Absent) {
        helpers::remove(docker, &id).await;
        if volume_exists(docker, volume).await
            && UNMOUNTED_IN_A_ROW.fetch_add(1, Ordering::SeqCst) + 1 >= UNMOUNTED_LIMIT
        {
            BIND_PROBES.store(false, Ordering::SeqCst);
        }
        let gone = vanished(volume);
        for fact in out.files.values_mut() {
            *fact = Err(gone.clone());
        }
        if out.tree.is_some() {
            out.tree = Some(Err(gone));
        }
        return out;
    }
    if let Some(folder) = bind {
        UNMOUNTED_IN_A_ROW.store(0, Ordering::SeqCst);
        // Podman answers a read through a bound folder that is gone with a 500 "no such file
        // or directory" for the folder itself.
        let gone = |e: &String| e.contains("no such file or directory") && e.contains(folder);
        let gone_folder = out.files.values().any(|f| f.as_ref().is_err_and(gone))
            || out
                .tree
                .as_ref()
                .is_some_and(|t| t.as_ref().is_err_and(gone));
        if gone_folder {
            let gone = vanished(volume);
            for fact in out.files.values_mut().filter(|f| f.is_err()) {
                *fact = Err(gone.clone());
            }
            if let Some(t) = out.tree.as_mut().filter(|t| t.is_err()) {
                *t = Err(gone);
            }
        }
    }
    // A 404 to a HEAD is "no such path" or "no such container": if the probe was gone when it
    // was removed, those paths were not really looked at.
    if !helpers::remove(docker, &id).await && !absent_by_stat.is_empty() {
        for path in absent_by_stat {
            out.files.insert(
                path.clone(),
                Err(format!(
                    "reading {path} in volume {volume}: the probe container was removed while it \
                     was read (by another program); run the check again"
                )),
            );
        }
    }
    out
}

/// Records what a read of `path` found; `false` when the volume cannot be mounted, which
/// ends the reading of it.
fn record(out: &mut VolumeRead, path: &str, read: Result<Option<FileFact>, ReadError>) -> bool {
    match read {
        Ok(fact) => {
            out.files.insert(path.to_string(), Ok(fact));
            true
        }
        Err(ReadError::Daemon(e)) => {
            out.files.insert(path.to_string(), Err(e));
            true
        }
        Err(ReadError::Unmountable(e)) => {
            out.unmountable = Some(e);
            false
        }
    }
}

enum Stat {
    Found(FileFact),
    Absent,
    Failed,
}

/// Kind, mode and size of a path in the probe, from the daemon's stat of it.
async fn stat_one(docker: &Docker, id: &str, path: &str) -> Stat {
    let opts = ContainerArchiveInfoOptionsBuilder::default()
        .path(&probe_path(path))
        .build();
    match docker.get_container_archive_info(id, Some(opts)).await {
        Ok(stat) => Stat::Found(fact_of_stat(stat.file_mode, stat.size)),
        Err(e) if is_not_found(&e) => Stat::Absent,
        Err(_) => Stat::Failed,
    }
}

/// The path in the probe of a path relative to the volume root.
fn probe_path(path: &str) -> String {
    if path == "." {
        format!("{MOUNT_POINT}/.")
    } else {
        format!("{MOUNT_POINT}/{path}")
    }
}

/// Up to `limit` bytes of the archive of `path` in the probe, and whether that is all of it;
/// `None` when the path does not exist. `doing` names the read in messages. The read ends by
/// its deadline ([`download_budget`]): a daemon that trickles its answer (a byte every few
/// seconds, never silent long enough for the transport's idle bound) cannot hold it forever.
async fn download(
    docker: &Docker,
    id: &str,
    path: &str,
    limit: usize,
    doing: &str,
) -> Result<Option<(Vec<u8>, bool)>, ReadError> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(&probe_path(path))
        .build();
    let budget = download_budget(limit);
    let deadline = tokio::time::Instant::now() + budget;
    let mut stream = docker.download_from_container(id, Some(opts));
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => {
                return Err(ReadError::Daemon(format!(
                    "{doing}: the Docker daemon took more than {} s to send it ({} so far, and \
                     not done). Is it overloaded? Try `docker info`, then the check again \
                     (WORKBOOK_DOCKER_TIMEOUT sets the wait)",
                    budget.as_secs(),
                    crate::docker::transport::size(buf.len() as u64)
                )))
            }
        };
        match chunk {
            Ok(bytes) => {
                buf.extend_from_slice(&bytes);
                if buf.len() > limit {
                    return Ok(Some((buf, false)));
                }
            }
            Err(e) => return classify(&e, doing).map(|_| None),
        }
    }
    Ok(Some((buf, true)))
}

/// The slowest the daemon may send an archive, beyond the client timeout.
const MIN_ARCHIVE_RATE: f64 = (16 << 20) as f64;

/// How long a read of up to `limit` bytes may take: the client timeout, plus `limit` at
/// [`MIN_ARCHIVE_RATE`] (a second for 16 MiB; half a minute for the largest listing).
fn download_budget(limit: usize) -> std::time::Duration {
    std::time::Duration::from_secs(crate::docker::engine::timeout_secs())
        + std::time::Duration::from_secs_f64(limit as f64 / MIN_ARCHIVE_RATE)
}

/// Largest volume listed whole (archive bytes); beyond it grading says so instead of reading on.
pub const TREE_LIMIT: u64 = 512 * 1024 * 1024;

async fn read_tree(
    docker: &Docker,
    id: &str,
    volume: &str,
) -> Result<(Manifest, Vec<u8>), ReadError> {
    let doing = format!("listing volume {volume}");
    let (buf, complete) = download(docker, id, ".", TREE_LIMIT as usize, &doing)
        .await?
        .ok_or_else(|| ReadError::Daemon(format!("{doing}: its root was not found")))?;
    if !complete {
        return Err(ReadError::Daemon(format!(
            "volume {volume} holds more than {} MiB: too large for the workbook to compare",
            TREE_LIMIT >> 20
        )));
    }
    let manifest = manifest_of(&buf, volume).map_err(ReadError::Daemon)?;
    Ok((manifest, buf))
}

/// The listing of volume `volume` from a whole tar of its root.
fn manifest_of(buf: &[u8], volume: &str) -> Fetched<Manifest> {
    // Podman's archive of a folder has no `./` entry for the folder itself: an empty volume
    // is a tar of no entry at all (tests/fixtures/podman-4.3.1/archive-empty-volume-root.tar),
    // which the backup validator rightly calls empty. Here it is the listing of an empty volume.
    if holds_no_entry(buf) {
        return Ok(Manifest::new());
    }
    if buf.len() as u64 > TREE_LIMIT {
        return Err(format!(
            "volume {volume} holds more than {} MiB: too large for the workbook to compare",
            TREE_LIMIT >> 20
        ));
    }
    let limits = archive::Limits {
        max_total_bytes: TREE_LIMIT + (1 << 20),
        ..archive::Limits::default()
    };
    archive::read_tar(buf, None, &limits)
        .map_err(|problems| format!("listing volume {volume}: {}", problems.join("; ")))
}

/// Whether a whole tar stream is valid and holds no entry (only its end blocks, or nothing).
fn holds_no_entry(buf: &[u8]) -> bool {
    buf.iter().all(|b| *b == 0)
}

async fn read_one(
    docker: &Docker,
    id: &str,
    volume: &str,
    path: &str,
) -> Result<Option<FileFact>, ReadError> {
    let doing = format!("reading {path} in volume {volume}");
    let Some((buf, _)) = download(docker, id, path, STREAM_LIMIT, &doing).await? else {
        return Ok(None);
    };
    first_entry(&buf)
        .map(Some)
        .map_err(|e| ReadError::Daemon(format!("{doing}: the archive was unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::no_such_container;

    /// The message of a recorded 404 body (tests/fixtures/podman-4.3.1/).
    fn podman(file: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/podman-4.3.1/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        body["message"].as_str().unwrap().to_string()
    }

    #[test]
    fn podmans_archive_of_an_empty_volume_is_an_empty_listing() {
        let path = format!(
            "{}/tests/fixtures/podman-4.3.1/archive-empty-volume-root.tar",
            env!("CARGO_MANIFEST_DIR")
        );
        let tar = std::fs::read(path).unwrap();
        assert!(super::holds_no_entry(&tar));
        assert!(super::holds_no_entry(b""));
        // Docker's archive of an empty volume: the root entry alone.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        b.append_data(&mut h, "./", &b""[..]).unwrap();
        assert!(!super::holds_no_entry(&b.into_inner().unwrap()));
    }

    #[test]
    fn a_missing_container_is_told_from_a_missing_path_on_docker_and_podman() {
        assert!(no_such_container("No such container: 1f2e3d"));
        assert!(no_such_container(&podman(
            "archive-404-no-such-container.json"
        )));
        assert!(!no_such_container(&podman("archive-404-no-such-path.json")));
        assert!(!no_such_container(
            "Could not find the file /probe/x in container 1f2e3d"
        ));
    }
}
