//! `workbook bench-io`: the same write/read workload against four kinds of storage.
//!
//! Each kind gets one helper container (image `workbook/tools`, no network, no capabilities,
//! labelled `workbook.managed=true` + `workbook.role=bench`) that runs every round itself: it
//! writes a file with `dd ... conv=fsync`, syncs, reads it back, and prints how long each phase
//! took as `write_ns=` / `read_ns=` lines, which are parsed from the container's logs. The
//! container, the temporary named volume and the temporary host folder are removed on every
//! path, errors included.

use crate::util::error::Result;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{HostConfig, Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::{RemoveVolumeOptionsBuilder, StartContainerOptions};
use bollard::Docker;
use serde::Serialize;

use crate::docker::engine::{describe, failed, is_not_found};
use crate::docker::helpers;
use crate::docker::images::TOOLS_IMAGE;
use crate::docker::labels;

mod chart;
mod workload;

pub use chart::chart;
use workload::{note, parse_timings, script, summarize, Timings};

/// Where the workload writes inside the container.
const TARGET: &str = "/bench";
/// Upper bounds that keep a typo from filling a disk or the RAM.
pub const MAX_SIZE_MB: u64 = 16 * 1024;
pub const MAX_ROUNDS: u32 = 100;
/// The widest a bar gets, however wide the terminal.
const MAX_BAR: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    pub size_mb: u64,
    pub rounds: u32,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            size_mb: 64,
            rounds: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindResult {
    /// "container-layer" | "named-volume" | "bind-mount" | "tmpfs"
    pub kind: String,
    /// Median over the rounds, MiB/s.
    pub write_mib_s: f64,
    /// Median over the rounds, MiB/s.
    pub read_mib_s: f64,
    pub rounds: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// The format of this report: 1.
    pub version: u32,
    pub size_mb: u64,
    pub results: Vec<KindResult>,
    pub note: String,
}

/// The four storage kinds, in the order they are measured and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ContainerLayer,
    NamedVolume,
    BindMount,
    Tmpfs,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::ContainerLayer,
        Kind::NamedVolume,
        Kind::BindMount,
        Kind::Tmpfs,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::ContainerLayer => "container-layer",
            Kind::NamedVolume => "named-volume",
            Kind::BindMount => "bind-mount",
            Kind::Tmpfs => "tmpfs",
        }
    }

    fn doing(self) -> &'static str {
        match self {
            Kind::ContainerLayer => "the container's writable layer",
            Kind::NamedVolume => "a named volume",
            Kind::BindMount => "a bind mount",
            Kind::Tmpfs => "a tmpfs",
        }
    }
}

/// Named volumes of this process that exist right now, so Ctrl-C can remove them.
static LIVE_VOLUMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Removes the bench volumes this process still has (for a Ctrl-C handler; bench containers
/// are tracked by [`helpers::remove_live`]).
pub async fn remove_live(docker: &Docker) {
    let names: Vec<String> = LIVE_VOLUMES.lock().map(|l| l.clone()).unwrap_or_default();
    for name in names {
        remove_volume(docker, &name).await;
    }
}

/// Runs the workload against every storage kind and reports the median throughput of each.
/// `measuring` is told each storage kind as its measurement starts ("a named volume").
pub async fn run(
    docker: &Docker,
    opts: &BenchOptions,
    measuring: &dyn Fn(usize, &str),
) -> Result<BenchReport> {
    validate(opts)?;
    ensure_image(docker).await?;
    check_memory(docker, opts).await?;
    let mut results = Vec::new();
    let mut clocks = Vec::new();
    for (i, kind) in Kind::ALL.into_iter().enumerate() {
        measuring(i, kind.doing());
        let timings = run_kind(docker, opts, kind)
            .await
            .map_err(|e| format!("bench-io on {}: {e}", kind.doing()))?;
        if timings.rounds.len() != opts.rounds as usize {
            return Err(format!(
                "bench-io on {}: the container reported {} round(s) instead of {}",
                kind.doing(),
                timings.rounds.len(),
                opts.rounds
            )
            .into());
        }
        results.push(summarize(kind.name(), opts.size_mb, &timings));
        clocks.push(timings.clock);
    }
    Ok(BenchReport {
        version: 1,
        size_mb: opts.size_mb,
        results,
        note: note(&clocks),
    })
}

fn validate(opts: &BenchOptions) -> Result<()> {
    if opts.size_mb == 0 || opts.size_mb > MAX_SIZE_MB {
        return Err(format!(
            "--size-mb must be between 1 and {MAX_SIZE_MB}, not {}",
            opts.size_mb
        )
        .into());
    }
    if opts.rounds == 0 || opts.rounds > MAX_ROUNDS {
        return Err(format!(
            "--rounds must be between 1 and {MAX_ROUNDS}, not {}",
            opts.rounds
        )
        .into());
    }
    Ok(())
}

fn missing_image() -> String {
    let name = TOOLS_IMAGE.strip_suffix(":latest").unwrap_or(TOOLS_IMAGE);
    format!("the lab image {name} is missing: run `workbook setup`")
}

async fn ensure_image(docker: &Docker) -> Result<()> {
    match docker.inspect_image(TOOLS_IMAGE).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Err(missing_image().into()),
        Err(e) => Err(failed(
            &format!("looking for the lab image {TOOLS_IMAGE}"),
            e,
        )),
    }
}

/// The tmpfs run keeps the whole file in the Docker host's RAM.
async fn check_memory(docker: &Docker, opts: &BenchOptions) -> Result<()> {
    let info = docker
        .info()
        .await
        .map_err(|e| failed("reading the Docker host's memory size", e))?;
    let Some(total) = info.mem_total.filter(|m| *m > 0) else {
        return Ok(());
    };
    let total_mib = total as u64 / (1024 * 1024);
    if opts.size_mb > total_mib / 2 {
        return Err(format!(
            "--size-mb {} is more than half the memory of the Docker host ({total_mib} MiB), \
             and the tmpfs run keeps the whole file in RAM: use a smaller --size-mb",
            opts.size_mb
        )
        .into());
    }
    Ok(())
}

async fn run_kind(docker: &Docker, opts: &BenchOptions, kind: Kind) -> Result<Timings> {
    match kind {
        Kind::ContainerLayer => run_container(docker, opts, HostConfig::default()).await,
        Kind::NamedVolume => {
            let volume = create_volume(docker).await?;
            let host = HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(TARGET.to_string()),
                    source: Some(volume.clone()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let result = run_container(docker, opts, host).await;
            remove_volume(docker, &volume).await;
            result
        }
        Kind::BindMount => {
            let dir = tempfile::Builder::new()
                .prefix("workbook-bench-")
                .tempdir_in(std::env::temp_dir())
                .map_err(|e| {
                    crate::util::error::Error::io("cannot create a temporary folder", e)
                })?;
            let data = shared_folder(dir.path())?;
            let host = HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(TARGET.to_string()),
                    source: Some(data.to_string_lossy().into_owned()),
                    typ: Some(MountType::BIND),
                    ..Default::default()
                }]),
                ..Default::default()
            };
            let result = run_container(docker, opts, host).await;
            let shown = dir.path().display().to_string();
            if let Err(e) = dir.close() {
                eprintln!("warning: cannot remove the temporary folder {shown}: {e}");
            }
            result
                .map_err(|e| {
                    if e.to_string().contains("does not exist") {
                        format!(
                        "{e}\nIs the Docker daemon on another machine (DOCKER_HOST)? It must see \
                         this machine's temporary folder for the bind-mount run."
                    )
                    } else {
                        e.to_string()
                    }
                })
                .map_err(Into::into)
        }
        Kind::Tmpfs => {
            // The file plus room for the file system's own bookkeeping.
            let size = opts.size_mb + opts.size_mb / 8 + 8;
            let host = HostConfig {
                tmpfs: Some(HashMap::from([(
                    TARGET.to_string(),
                    format!("size={size}m"),
                )])),
                ..Default::default()
            };
            run_container(docker, opts, host).await
        }
    }
}

/// A world-writable folder inside the private (0700) temporary folder: the container's root
/// has no CAP_DAC_OVERRIDE, so it may not write into a folder another user owns, and nobody
/// else on the host can reach the folder through its parent.
fn shared_folder(parent: &Path) -> Result<std::path::PathBuf> {
    let data = parent.join("data");
    std::fs::create_dir(&data).map_err(|e| {
        crate::util::error::Error::io(format!("cannot create the folder {}", data.display()), e)
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).map_err(|e| {
            crate::util::error::Error::io(
                format!("cannot open up the folder {}", data.display()),
                e,
            )
        })?;
    }
    Ok(data)
}

async fn create_volume(docker: &Docker) -> Result<String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("workbook-bench-{}-{stamp}", std::process::id());
    let request = VolumeCreateRequest {
        name: Some(name.clone()),
        labels: Some(labels::helper(labels::ROLE_BENCH)),
        ..Default::default()
    };
    if let Ok(mut live) = LIVE_VOLUMES.lock() {
        live.push(name.clone());
    }
    match docker.create_volume(request).await {
        Ok(v) => Ok(v.name),
        Err(e) => {
            remove_volume(docker, &name).await;
            Err(failed("creating a temporary volume", e))
        }
    }
}

/// Removes a bench volume; failures are reported on stderr, never hidden. A volume still in
/// use (HTTP 409) is retried for a while: its container may be in the middle of being removed,
/// e.g. when something else removed it first and our own removal returned early.
async fn remove_volume(docker: &Docker, name: &str) {
    let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match docker.remove_volume(name, Some(opts.clone())).await {
            Ok(()) => break,
            Err(e) if is_not_found(&e) => break,
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) if attempts < VOLUME_ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => {
                eprintln!(
                    "warning: {}; remove it with `docker volume rm {name}`",
                    describe("removing the temporary bench volume", &e)
                );
                break;
            }
        }
    }
    if let Ok(mut live) = LIVE_VOLUMES.lock() {
        live.retain(|l| l != name);
    }
}

/// How often a volume in use is tried (250 ms apart).
const VOLUME_ATTEMPTS: u32 = 40;

/// Runs the script in one container with `host`'s storage at /bench; always removes it.
async fn run_container(docker: &Docker, opts: &BenchOptions, host: HostConfig) -> Result<Timings> {
    let cmd = vec![
        "sh".to_string(),
        "-c".to_string(),
        script(opts.size_mb, opts.rounds),
    ];
    let host = HostConfig {
        auto_remove: Some(false),
        ..host
    };
    let body = helpers::helper_body(TOOLS_IMAGE, labels::ROLE_BENCH, cmd, host);
    let id = match helpers::create(docker, body).await {
        Ok(id) => id,
        Err(e) if is_not_found(&e) => return Err(missing_image().into()),
        Err(e) => return Err(failed("creating the bench container", e)),
    };
    // Generous: a slow disk may write a few MiB/s.
    let budget = Duration::from_secs(120 + 2 * opts.size_mb * u64::from(opts.rounds));
    let result = match tokio::time::timeout(budget, execute(docker, &id)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the workload did not finish within {} s",
            budget.as_secs()
        ))
        .map_err(Into::into),
    };
    helpers::remove(docker, &id).await;
    result
}

/// Starts the container, waits for it, and parses its logs.
async fn execute(docker: &Docker, id: &str) -> Result<Timings> {
    docker
        .start_container(id, None::<StartContainerOptions>)
        .await
        .map_err(|e| failed("starting the bench container", e))?;
    let exit = helpers::wait_exit(docker, id)
        .await
        .map_err(|e| failed("waiting for the bench container", e))?;
    let logs = logs(docker, id).await?;
    if exit != 0 {
        return Err(format!(
            "the workload failed (exit code {exit}):\n{}",
            tail(&logs, 8)
        )
        .into());
    }
    parse_timings(&logs)
        .map_err(|e| format!("{e}; the container printed:\n{}", tail(&logs, 8)))
        .map_err(Into::into)
}

async fn logs(docker: &Docker, id: &str) -> Result<String> {
    let (out, err) = crate::docker::logs::read(docker, id, None)
        .await
        .map_err(|e| match e {
            // 404: gone; 409: "dead or marked for removal".
            DockerError::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            } => "the bench container was removed while it ran, by another program \
                  (another workbook command that cleans up helpers, or `docker rm`): run \
                  bench-io again"
                .to_string(),
            e => describe("reading the bench container's output", &e),
        })?;
    Ok(out + &err)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    if lines.is_empty() {
        "(nothing)".to_string()
    } else {
        lines[start..].join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn leftovers(docker: &Docker) -> usize {
        let filters = HashMap::from([(
            "label",
            vec![format!("{}={}", labels::ROLE, labels::ROLE_BENCH)],
        )]);
        let containers = docker
            .list_containers(Some(
                bollard::query_parameters::ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        let volumes = docker
            .list_volumes(Some(
                bollard::query_parameters::ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .unwrap();
        containers.len() + volumes.volumes.map(|v| v.len()).unwrap_or(0)
    }

    /// Runs against the real daemon; skips when there is none (or no lab image).
    #[tokio::test]
    async fn runs_all_four_kinds_and_leaves_nothing_behind() {
        let Ok(engine) = crate::docker::engine::connect().await else {
            eprintln!("skipped: no Docker daemon");
            return;
        };
        let docker = engine.docker;
        if docker.inspect_image(TOOLS_IMAGE).await.is_err() {
            eprintln!("skipped: {}", missing_image());
            return;
        }
        let opts = BenchOptions {
            size_mb: 4,
            rounds: 1,
        };
        let told = std::sync::Mutex::new(Vec::new());
        let report = run(&docker, &opts, &|i, kind| {
            told.lock().unwrap().push(format!("{i} {kind}"))
        })
        .await
        .unwrap();
        // Each kind is announced as its measurement starts, in order.
        let told = told.into_inner().unwrap();
        assert_eq!(told.len(), 4, "{told:?}");
        assert!(
            told[0].starts_with("0 ") && told[3].starts_with("3 "),
            "{told:?}"
        );
        assert_eq!(report.version, 1);
        assert_eq!(report.size_mb, 4);
        let kinds: Vec<&str> = report.results.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["container-layer", "named-volume", "bind-mount", "tmpfs"]
        );
        for r in &report.results {
            assert!(r.write_mib_s > 0.0 && r.write_mib_s.is_finite(), "{r:?}");
            assert!(r.read_mib_s > 0.0 && r.read_mib_s.is_finite(), "{r:?}");
            assert_eq!(r.rounds, 1);
        }
        assert_eq!(leftovers(&docker).await, 0);
    }
}
