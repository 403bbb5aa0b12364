//! Whether the engine sees this machine's files: a remote engine (`tcp://`, `ssh://`) binds
//! folders of its own machine, so a step that compares with the learner's folder cannot be
//! graded there ([`crate::checks::capability::Capability::HostFiles`]).
//!
//! Found out by a marker: a file with a fresh token is written into a temporary folder of the
//! workspace, a created-never-started probe binds that folder read-only, and the archive
//! endpoint shows whether the engine sees the same bytes. `doctor`'s bind-mount check uses the
//! same probe. A local socket is taken as local without asking (Docker Desktop's socket
//! included: its file sharing is `doctor`'s to check). `WORKBOOK_ENGINE_SEES_HOST=1` (or `0`)
//! says it instead of the marker.

use std::path::Path;
use std::sync::Mutex;

use bollard::models::{HostConfig, Mount, MountType};
use bollard::query_parameters::DownloadFromContainerOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use crate::docker::engine::describe;
use crate::docker::helpers;
use crate::docker::labels;
use crate::grading::probe;

/// Where the probe mounts the temporary folder.
const BIND_TARGET: &str = "/probe";
const MARKER: &str = "marker";
/// Overrides the marker: `1` the engine sees this machine's files, `0` it does not.
pub const SEES_HOST_ENV: &str = "WORKBOOK_ENGINE_SEES_HOST";

/// Why a bind-mount test did not show the marker.
#[derive(Debug)]
pub enum BindError {
    /// Something on this side (not the engine) kept the test from running.
    Local(String),
    /// The engine could not show the folder's file.
    Daemon(String),
}

/// Writes a marker into a new temporary folder of `dir`, binds that folder into a probe made
/// from `image`, and reads the marker back; the folder and the probe are removed whatever
/// happened.
pub async fn bind_test(docker: &Docker, image: &str, dir: &Path) -> Result<(), BindError> {
    let folder = tempfile::Builder::new()
        .prefix(".workbook-bind-test-")
        .tempdir_in(dir)
        .map_err(|e| {
            BindError::Local(format!("cannot create a folder in {}: {e}", dir.display()))
        })?;
    let token = format!(
        "workbook bind test {} {}\n",
        std::process::id(),
        crate::util::clock::now_nanos()
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
    result
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
        // No image to make the probe from: nothing is known about the folder.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        }) => {
            return Err(BindError::Local(format!(
                "the probe could not be made ({message}): run `workbook setup`"
            )))
        }
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
            }) if !probe::no_such_container(&message) => return Ok(None),
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

/// What was found, per endpoint, for this process: `None` the engine sees this machine's files.
static FOUND: Mutex<Vec<(String, Option<String>)>> = Mutex::new(Vec::new());

/// Why the engine this process talks to cannot see this machine's files (a sentence naming the
/// endpoint), or `None` when it can or when that could not be found out. Asked once per
/// endpoint and process; `dir` is where the marker's folder is made (the workspace).
pub async fn unseen_host(docker: &Docker, dir: &Path) -> Option<String> {
    let endpoint = crate::docker::engine::connected_endpoint()?;
    match std::env::var(SEES_HOST_ENV).ok().as_deref() {
        Some("1") => return None,
        Some("0") => {
            return Some(format!(
                "{SEES_HOST_ENV}=0 says the engine at {} does not see this machine's files",
                endpoint.url()
            ))
        }
        _ => {}
    }
    if !endpoint.is_remote() {
        return None;
    }
    let url = endpoint.url();
    if let Some((_, found)) = FOUND
        .lock()
        .ok()
        .and_then(|f| f.iter().find(|(u, _)| *u == url).cloned())
    {
        return found;
    }
    let found = match bind_test(docker, crate::docker::images::TOOLS_IMAGE, dir).await {
        Ok(()) => None,
        Err(BindError::Daemon(why)) => Some(format!(
            "the engine at {url} does not see this machine's folders ({why})"
        )),
        // Not found out: grade as if it did, as before.
        Err(BindError::Local(_)) => return None,
    };
    if let Ok(mut f) = FOUND.lock() {
        f.push((url, found.clone()));
    }
    found
}
