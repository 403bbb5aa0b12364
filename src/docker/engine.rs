//! The connection to the Docker Engine: endpoint, timeouts, and
//! error messages that say what failed, why, and what to do.

use crate::util::error::Result;
use bollard::errors::Error as DockerError;
use bollard::{ClientVersion, Docker, API_DEFAULT_VERSION};

use crate::docker::endpoint::{self, Address, Endpoint};
use crate::docker::transport::{self, FaultKind, Transport};

/// Every Engine API call is bounded by this (seconds); `WORKBOOK_DOCKER_TIMEOUT` overrides it.
/// A short answer must come whole within it; a long transfer may not pause for longer (see
/// [`crate::docker::transport`] for each kind of request).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// A client that reached the daemon, and where it points.
///
/// No API version is negotiated here: bollard 0.21 sends every request on an unversioned path
/// (its URI builder joins the absolute endpoint path over the `/vX.Y` prefix), so the daemon
/// answers in its own API version whatever the client's is, and a negotiation (`GET /version`,
/// for which the daemon asks containerd and runs `runc --version`: ~5 ms, half of a
/// metadata-only check) would change no request. `tests/it/engine.rs` pins that: it talks to the
/// real daemon as a client of API 1.99, which a versioned path would make the daemon refuse.
/// `doctor` reads the daemon's version itself.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    pub endpoint: Endpoint,
}

/// The client timeout in seconds: `WORKBOOK_DOCKER_TIMEOUT`, else [`DEFAULT_TIMEOUT_SECS`].
pub fn timeout_secs() -> u64 {
    std::env::var("WORKBOOK_DOCKER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS)
}

/// Connects to the daemon the docker CLI would use and makes sure it answers (`GET /_ping`,
/// well under a millisecond), so that an unreachable, refusing or silent daemon is reported
/// here, with its fix, before any grading starts. Requests go through [`Transport`], which
/// bounds each one in time and size.
pub async fn connect() -> Result<Engine> {
    connect_as(API_DEFAULT_VERSION).await
}

/// [`connect`], as a client of the given API version.
pub async fn connect_as(version: &ClientVersion) -> Result<Engine> {
    let endpoint = endpoint::resolve(&endpoint::Env::from_process())?;
    let timeout = timeout_secs();
    let address = match &endpoint.address {
        Address::Unix(path) => transport::Address::Unix(path.clone()),
        Address::Tcp(host) => transport::Address::Tcp(host.clone()),
    };
    let transport = Transport::new(
        address,
        endpoint.to_string(),
        std::time::Duration::from_secs(timeout),
    );
    let client_addr = transport.client_addr();
    let docker = Docker::connect_with_custom_transport(
        move |request| transport.request(request),
        Some(client_addr),
        timeout,
        version,
    )
    .map_err(|e| unreachable_message(&endpoint, &e))?;
    // Each request is bounded by `timeout` (bollard's, until the answer's head, and the
    // transport's, to its end): a daemon that accepts and never answers comes back as
    // RequestTimeoutError or the transport's NoAnswer, which unreachable_message explains.
    docker
        .ping()
        .await
        .map_err(|e| unreachable_message(&endpoint, &e))?;
    Ok(Engine { docker, endpoint })
}

fn unreachable_message(endpoint: &Endpoint, e: &DockerError) -> String {
    let fault = transport::fault_of(e);
    if let Some(f) = fault
        .as_ref()
        .filter(|f| !matches!(f.kind, FaultKind::NoAnswer { .. }))
    {
        return f.to_string();
    }
    if fault.is_some() || matches!(e, DockerError::RequestTimeoutError) {
        return format!(
            "the Docker daemon at {endpoint} did not answer within {} s. Is it overloaded or stuck? \
             Try `docker info`; restart Docker if that hangs too (WORKBOOK_DOCKER_TIMEOUT sets the wait).",
            timeout_secs()
        );
    }
    let chain = chain(e);
    let fix = if chain.contains("ermission denied") {
        "your user may not use the Docker socket: run `sudo usermod -aG docker $USER`, then log out \
         and in again (or run workbook with sudo)"
    } else if matches!(e, DockerError::SocketNotFoundError(_))
        || chain.contains("No such file")
        || chain.contains("onnection refused")
    {
        "is Docker running? Start it (`sudo systemctl start docker`, or open Docker Desktop), or point \
         DOCKER_HOST at a running daemon"
    } else {
        "check that `docker info` works with the same settings"
    };
    format!("cannot reach the Docker daemon at {endpoint}: {chain}.\n{fix}")
}

/// The whole error chain on one line: hyper hides the real cause in `source()`, and a limit of
/// the transport that ended the request is named even where bollard lost it.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    if let Some(fault) = transport::fault_in(e) {
        let text = fault.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// "while {doing}: {error chain}", neutralised for the terminal (the daemon's message, and
/// what a misbehaving endpoint sends, are not the workbook's text: see [`crate::ui::safe_text`]);
/// a limit of the transport that ended the request says which.
pub fn describe(doing: &str, e: &DockerError) -> String {
    if let Some(fault) = transport::fault_of(e) {
        return crate::ui::safe_text::owned(match fault.kind {
            FaultKind::NoAnswer { .. } => {
                format!("the Docker daemon did not answer in time while {doing}")
            }
            _ => format!("while {doing}: {fault}"),
        });
    }
    crate::ui::safe_text::owned(match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => {
            format!("the Docker daemon refused {doing} (HTTP {status_code}): {message}")
        }
        DockerError::RequestTimeoutError => {
            format!("the Docker daemon did not answer in time while {doing}")
        }
        other => format!("error while {doing}: {}", chain(other)),
    })
}

/// The library's error for a failed request to the daemon: [`describe`]'s sentence, with the
/// daemon's error kept as its source.
pub fn failed(doing: &str, e: DockerError) -> crate::util::error::Error {
    crate::util::error::Error::Docker {
        message: describe(doing, &e),
        source: e,
    }
}

pub fn is_not_found(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Every container, running or not.
pub async fn all_containers(docker: &Docker) -> Result<Vec<bollard::models::ContainerSummary>> {
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .all(true)
        .build();
    docker
        .list_containers(Some(opts))
        .await
        .map_err(|e| failed("listing containers", e))
}

/// Every volume.
pub async fn all_volumes(docker: &Docker) -> Result<Vec<bollard::models::Volume>> {
    docker
        .list_volumes(None::<bollard::query_parameters::ListVolumesOptions>)
        .await
        .map(|r| r.volumes.unwrap_or_default())
        .map_err(|e| failed("listing volumes", e))
}
