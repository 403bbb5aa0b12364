//! The bind-mount check: a folder of this machine, mounted into a helper container, shows the
//! file written into it (Docker Desktop file sharing, a remote daemon).

use std::path::{Path, PathBuf};

use bollard::models::{HostConfig, Mount, MountType, SystemInfo};
use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::disk::is_desktop;
use super::images::short;
use super::Check;
use crate::docker::endpoint::{Address, Endpoint};
use crate::docker::engine::describe;
use crate::docker::helpers;
use crate::docker::images::{PULL_BASE, TOOLS_IMAGE};
use crate::docker::labels;
use crate::grading::probe;
use crate::learner::workspace::Workspace;

/// Where the bind-mount probe mounts the temporary folder.
const BIND_TARGET: &str = "/probe";
const MARKER: &str = "marker";

/// The folder the bind-mount probe uses: the workspace, else the current folder.
pub(super) fn bind_dir(explicit: Option<&Path>) -> PathBuf {
    if let Ok(Some(ws)) = Workspace::find(explicit) {
        return ws.root;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// An image the probe can be created from: the tools image, else a local busybox.
async fn probe_image(docker: &Docker) -> Option<&'static str> {
    for image in [TOOLS_IMAGE, PULL_BASE] {
        if docker.inspect_image(image).await.is_ok() {
            return Some(image);
        }
    }
    None
}

fn bind_fix(ep: &Endpoint, info: Option<&SystemInfo>, dir: &Path) -> String {
    if matches!(ep.address, Address::Tcp(_) | Address::Ssh(_)) {
        format!(
            "the daemon may run on another machine ({}) and see its own files: work on the \
             Docker host, or `unset DOCKER_HOST` to use a local daemon",
            ep.url()
        )
    } else if info.is_some_and(is_desktop) {
        format!(
            "share {} with Docker Desktop: Settings → Resources → File sharing, add it, Apply & \
             restart",
            dir.display()
        )
    } else {
        format!(
            "try it by hand: `docker run --rm -v \"{}:/probe:ro\" busybox ls /probe`",
            dir.display()
        )
    }
}

pub(super) async fn bind_check(
    docker: &Docker,
    ep: &Endpoint,
    info: Option<&SystemInfo>,
    dir: &Path,
) -> Check {
    let Some(image) = probe_image(docker).await else {
        return Check::warn(
            "bind-mount",
            format!(
                "bind mounts from {} not tested: it needs the lab image {}",
                dir.display(),
                short(TOOLS_IMAGE)
            ),
            Some("`workbook setup`, then `workbook doctor` again".to_string()),
        );
    };
    let folder = match tempfile::Builder::new()
        .prefix(".workbook-doctor-")
        .tempdir_in(dir)
    {
        Ok(f) => f,
        Err(e) => {
            return Check::warn(
                "bind-mount",
                format!(
                    "bind mounts from {} not tested: cannot create a folder there: {e}",
                    dir.display()
                ),
                Some(
                    "run `workbook doctor` in a folder you can write to (your workspace)"
                        .to_string(),
                ),
            )
        }
    };
    let token = format!(
        "workbook doctor {} {}\n",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let result = match std::fs::write(folder.path().join(MARKER), &token) {
        Ok(()) => bind_probe(docker, image, folder.path(), token.as_bytes()).await,
        Err(e) => Err(BindError::Local(format!(
            "cannot write into {}: {e}",
            folder.path().display()
        ))),
    };
    let shown = folder.path().display().to_string();
    if let Err(e) = folder.close() {
        eprintln!("warning: cannot remove the temporary folder {shown}: {e}");
    }
    let d = dir.display();
    match result {
        Ok(()) => Check::ok("bind-mount", format!("bind mounts from {d} work")),
        Err(BindError::Local(e)) => Check::warn(
            "bind-mount",
            format!("bind mounts from {d} not tested: {e}"),
            None,
        ),
        Err(BindError::Daemon(e)) => Check::fail(
            "bind-mount",
            format!("bind mounts from {d} do not work: {e}"),
            bind_fix(ep, info, dir),
        ),
    }
}

enum BindError {
    /// Something on this side (not the daemon) kept the test from running.
    Local(String),
    /// The daemon could not show the folder's file.
    Daemon(String),
}

/// Creates a stopped helper with `folder` bind-mounted read-only, reads the marker back through
/// the archive endpoint, and removes the helper whatever happened.
async fn bind_probe(
    docker: &Docker,
    image: &str,
    folder: &Path,
    token: &[u8],
) -> Result<(), BindError> {
    let host = HostConfig {
        mounts: Some(vec![Mount {
            target: Some(BIND_TARGET.to_string()),
            source: Some(folder.to_string_lossy().into_owned()),
            typ: Some(MountType::BIND),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let body = helpers::helper_body(image, labels::ROLE_PROBE, vec!["true".to_string()], host);
    let id = match helpers::create(docker, body).await {
        Ok(id) => id,
        Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
            return Err(BindError::Daemon(format!("the daemon said: {message}")))
        }
        Err(e) => {
            return Err(BindError::Daemon(describe(
                "creating the bind-mount probe",
                &e,
            )))
        }
    };
    let read = read_marker(docker, &id).await;
    helpers::remove(docker, &id).await;
    match read? {
        Some(content) if content == token => Ok(()),
        Some(_) => Err(BindError::Daemon(
            "the container sees a different file than this machine wrote: the daemon sees \
             another machine's folder"
                .to_string(),
        )),
        None => Err(BindError::Daemon(
            "the file written into it is not visible in the container (the folder is not shared \
             with the daemon)"
                .to_string(),
        )),
    }
}

/// The marker's bytes inside the helper; `None` when it is not there.
async fn read_marker(docker: &Docker, id: &str) -> Result<Option<Vec<u8>>, BindError> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(&format!("{BIND_TARGET}/{MARKER}"))
        .build();
    let mut stream = docker.download_from_container(id, Some(opts));
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                buf.extend_from_slice(&bytes);
                if buf.len() > 64 * 1024 {
                    break;
                }
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            }) if !crate::grading::probe::no_such_container(&message) => return Ok(None),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                return Err(BindError::Daemon(format!("the daemon said: {message}")))
            }
            Err(e) => {
                return Err(BindError::Daemon(describe(
                    "reading through the bind-mount probe",
                    &e,
                )))
            }
        }
    }
    probe::first_entry(&buf)
        .map(|fact| fact.content)
        .map_err(|e| BindError::Daemon(format!("the probe's archive was unreadable: {e}")))
}
