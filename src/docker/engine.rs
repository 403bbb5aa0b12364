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
    let address = transport_address(&endpoint)?;
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
    if let Err(e) = docker.ping().await {
        return Err(ping_failed(&endpoint, &e).await.into());
    }
    if let Ok(mut connected) = CONNECTED.lock() {
        *connected = Some(endpoint.clone());
    }
    Ok(Engine { docker, endpoint })
}

/// The endpoint this process last connected to.
static CONNECTED: std::sync::Mutex<Option<Endpoint>> = std::sync::Mutex::new(None);

/// The endpoint this process last connected to ([`connect`]), for what depends on where the
/// engine runs (whether it sees this machine's files, `grading::locality`).
pub fn connected_endpoint() -> Option<Endpoint> {
    CONNECTED.lock().ok().and_then(|c| c.clone())
}

/// How the transport reaches `endpoint`: TLS made from its files (an error names the file at
/// fault), ssh with the docker CLI's arguments.
pub fn transport_address(endpoint: &Endpoint) -> Result<transport::Address> {
    Ok(match (&endpoint.address, &endpoint.tls) {
        (Address::Unix(path), _) => transport::Address::Unix(path.clone()),
        (Address::Tcp(host), None) => transport::Address::Tcp(host.clone()),
        (Address::Tcp(host), Some(tls)) => {
            let problem = |why: String| format!("cannot use TLS with {}: {why}", endpoint.url());
            transport::Address::Tls {
                host: host.clone(),
                config: transport::tls::client_config(tls).map_err(problem)?,
                name: transport::tls::server_name(host).map_err(problem)?,
            }
        }
        (Address::Ssh(ssh), _) => transport::Address::Ssh {
            args: ssh.args(),
            shown: ssh.to_string(),
        },
    })
}

/// [`unreachable_message`], after asking a plain `tcp://` daemon that cut the request whether
/// it wants TLS (a TLS port answers a plain request by closing it, or with an HTTP 400).
async fn ping_failed(endpoint: &Endpoint, e: &DockerError) -> String {
    if let (Address::Tcp(host), None) = (&endpoint.address, &endpoint.tls) {
        let cut = transport::fault_of(e).is_none()
            && !matches!(e, DockerError::RequestTimeoutError)
            && !chain(e).contains("onnection refused");
        if cut && transport::tls::speaks_tls(host, std::time::Duration::from_secs(5)).await {
            return wants_tls_message(endpoint);
        }
    }
    unreachable_message(endpoint, e)
}

fn wants_tls_message(endpoint: &Endpoint) -> String {
    let url = endpoint.url();
    let fix = if endpoint.source.starts_with("docker context") {
        format!(
            "give the context its certificates: `docker context update {} --docker              \"host={url},ca=CA.pem,cert=CERT.pem,key=KEY.pem\"`",
            endpoint
                .source
                .trim_start_matches("docker context `")
                .trim_end_matches('`')
        )
    } else {
        "set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH=FOLDER (the folder with the daemon's \
         ca.pem and your cert.pem and key.pem), as for `docker --tlsverify`"
            .to_string()
    };
    format!(
        "the daemon at {url} wants TLS: it answered a plain HTTP request by closing it, and a TLS \
         hello with its own (from {}).\n{fix}",
        endpoint.source
    )
}

fn unreachable_message(endpoint: &Endpoint, e: &DockerError) -> String {
    if let (Some(tls), Some(err)) = (&endpoint.tls, transport::tls::rustls_error(e)) {
        return transport::tls::explain(&err, &endpoint.url(), tls);
    }
    if let Some(ssh) = ssh_failure(e) {
        return format!(
            "cannot reach the Docker daemon at {endpoint}: {ssh}.\n{}",
            ssh_fix(&ssh.said)
        );
    }
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

/// The ssh failure under `e`, if ssh ended the request.
fn ssh_failure(e: &DockerError) -> Option<transport::SshFailed> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let io = match err.downcast_ref::<DockerError>() {
            Some(DockerError::IOError { err }) => Some(err),
            _ => err.downcast_ref::<std::io::Error>(),
        };
        if let Some(io) = io {
            if let Some(s) = io
                .get_ref()
                .and_then(|i| i.downcast_ref::<transport::SshFailed>())
            {
                return Some(s.clone());
            }
        }
        cur = err.source();
    }
    None
}

/// The fix for what ssh said.
fn ssh_fix(said: &str) -> &'static str {
    if said.contains("Permission denied") {
        "ssh could not log in without a prompt: add your key with `ssh-copy-id USER@HOST` (or \
         `ssh-add`), and check that `ssh USER@HOST docker info` works"
    } else if said.contains("Host key verification failed") || said.contains("HOST IDENTIFICATION")
    {
        "ssh does not know (or no longer trusts) the host's key: connect once by hand \
         (`ssh USER@HOST`) and accept it, or fix ~/.ssh/known_hosts"
    } else if said.contains("command not found") || said.contains("not found") {
        "the remote host has no docker CLI to run `docker system dial-stdio`: install Docker there"
    } else if said.contains("Could not resolve")
        || said.contains("Connection refused")
        || said.contains("timed out")
    {
        "check the host and port in DOCKER_HOST, and that `ssh USER@HOST` works"
    } else {
        "check that `ssh USER@HOST docker system dial-stdio` works with the same settings"
    }
}

pub use transport::chain;

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
