//! The workbook's own transport under bollard: every Engine API request bounded in time and size.
//!
//! bollard's timeout ends when the answer's headers arrive; the body it then collects (JSON) or
//! streams (archives, events, builds) is bounded by nothing, so a daemon (or something posing as
//! one on the socket) that sends headers and stalls hangs every command, and one that sends an
//! endless body exhausts memory. Here each request gets a connection of its own (bollard's own
//! clients keep no idle connection either: `pool_max_idle_per_host(0)`), and that connection's
//! IO carries the request's [`Limits`]: it counts the answer's bytes as they arrive (following
//! the HTTP/1.1 framing, [`Meter`]) and watches the clock, and fails the read, which hyper and
//! then bollard see as an error, instead of waiting or growing. The error says what happened
//! ([`Fault`]); [`fault_of`] finds it again in bollard's error.
//!
//! What each kind of request may take ([`limits_for`]):
//! - JSON and other short answers: the whole exchange within the client timeout
//!   (`WORKBOOK_DOCKER_TIMEOUT`, 60 s), at most [`JSON_LIMIT`] of body;
//! - long transfers (archive downloads, image save/load, build, pull): no overall deadline (the
//!   caller bounds it: `probe` has a deadline and a size limit per read), but once the answer
//!   has begun, no silence longer than the timeout; JSON-line progress streams at most
//!   [`LINE_LIMIT`] per line;
//! - the event stream: endless by design, no deadline and no idle bound, at most [`LINE_LIMIT`]
//!   per line (so the stream's memory stays bounded);
//! - `wait` (a container's exit) and exec's attached output: bounded by their callers
//!   (bench-io's budget, [`crate::docker::exec::EXEC_TIMEOUT`]), exec's output at most
//!   [`EXEC_OUTPUT_LIMIT`];
//! - any error answer (status 400 and above): at most [`ERROR_LIMIT`].

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

mod conn;
mod fault;
mod meter;
mod ssh;
pub mod tls;

pub use fault::{fault_in, fault_of, Fault, FaultKind};
pub use meter::{Broken, Meter};

use conn::{Bounded, FaultInfo};
use fault::find;

/// Body of a successful JSON (or other short) answer.
pub const JSON_LIMIT: u64 = 64 << 20;
/// Body of an error answer: the daemon's are one short JSON message.
pub const ERROR_LIMIT: u64 = 64 << 10;
/// One line of a newline-delimited JSON stream (events, build and pull progress).
pub const LINE_LIMIT: u64 = 1 << 20;
/// What an exec may print, both streams together (checks keep 64 KiB of each).
pub const EXEC_OUTPUT_LIMIT: u64 = 16 << 20;
/// An answer's status line and headers.
const HEAD_LIMIT: usize = 64 << 10;

/// Where the daemon listens, and how to speak to it.
#[derive(Debug, Clone)]
pub enum Address {
    Unix(PathBuf),
    /// `host:port`, plain HTTP.
    Tcp(String),
    /// `host:port`, HTTPS: the connection is TLS, the bounds apply to what it carries.
    Tls {
        host: String,
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    },
    /// `ssh ARGS` (ending in `docker system dial-stdio`); `shown` is the endpoint's URL.
    Ssh {
        args: Vec<String>,
        shown: String,
    },
}

/// What one request may take; `None` is "not bounded here" (the caller bounds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole exchange: from the request's start to the answer's last byte.
    pub deadline: Option<Duration>,
    /// Once the answer has begun: the longest wait for its next byte.
    pub idle: Option<Duration>,
    /// Body bytes of a successful answer (after the chunked framing).
    pub body: Option<u64>,
    /// Body bytes of an error answer.
    pub error_body: u64,
    /// The longest run of body bytes without a newline.
    pub line: Option<u64>,
    /// Bytes after a switch of protocols (exec's attached output).
    pub upgraded: Option<u64>,
}

/// The limits of `method path` (path without the query) for a client timeout of `timeout`.
pub fn limits_for(method: &Method, path: &str, timeout: Duration) -> Limits {
    let short = Limits {
        deadline: Some(timeout),
        idle: None,
        body: Some(JSON_LIMIT),
        error_body: ERROR_LIMIT,
        line: None,
        upgraded: Some(0),
    };
    let transfer = Limits {
        deadline: None,
        idle: Some(timeout),
        body: None,
        ..short
    };
    let parts: Vec<&str> = unversioned(path)
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["events"]) => Limits {
            deadline: None,
            idle: None,
            body: None,
            line: Some(LINE_LIMIT),
            ..short
        },
        ("POST", ["containers", _, "wait"]) => Limits {
            deadline: None,
            ..short
        },
        ("POST", ["exec", _, "start"]) => Limits {
            deadline: None,
            body: Some(EXEC_OUTPUT_LIMIT),
            upgraded: Some(EXEC_OUTPUT_LIMIT),
            ..short
        },
        ("GET", ["containers", _, "archive"]) => transfer,
        ("GET", ["images", "get"]) => transfer,
        ("GET", ["images", rest @ .., "get"]) if !rest.is_empty() => transfer,
        ("POST", ["images", "load"] | ["build"] | ["images", "create"]) => Limits {
            line: Some(LINE_LIMIT),
            ..transfer
        },
        _ => short,
    }
}

/// `/v1.41/containers/json` → `/containers/json` (bollard 0.21 sends no version; others may).
fn unversioned(path: &str) -> &str {
    let rest = path.trim_start_matches('/');
    match rest.split_once('/') {
        Some((v, tail)) if v.starts_with('v') && v[1..].contains('.') => {
            &path[path.len() - tail.len() - 1..]
        }
        _ => path,
    }
}

/// A request as messages name it: `GET /containers/3f2a1b4c5d6e/archive` (ids shortened, no query).
pub fn shown_request(method: &Method, path: &str) -> String {
    let shown: Vec<String> = path
        .split('/')
        .map(|p| {
            if p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()) {
                p[..12].to_string()
            } else {
                p.to_string()
            }
        })
        .collect();
    format!("{method} {}", shown.join("/"))
}

/// `67108864` → `64 MiB`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// A fresh, bounded connection per request; [`Transport::request`] is what bollard's
/// `connect_with_custom_transport` calls (its `CustomTransport` trait is not exported, but any
/// `Fn(BollardRequest) -> Future` is one).
pub struct Transport {
    address: Address,
    /// For messages: `unix:///var/run/docker.sock (from the default socket)`.
    endpoint: String,
    /// The `Host` header.
    host: String,
    timeout: Duration,
}

impl Transport {
    pub fn new(address: Address, endpoint: String, timeout: Duration) -> Transport {
        let host = match &address {
            Address::Unix(_) | Address::Ssh { .. } => "docker".to_string(),
            Address::Tcp(h) | Address::Tls { host: h, .. } => h.clone(),
        };
        Transport {
            address,
            endpoint,
            host,
            timeout,
        }
    }

    /// What bollard is given as the client address (its URIs are built from it).
    pub fn client_addr(&self) -> String {
        format!("http://{}", self.host)
    }
}

/// An answer's head, or why there is none.
pub type Answer =
    Pin<Box<dyn Future<Output = Result<Response<Incoming>, bollard::errors::Error>> + Send>>;

impl Transport {
    /// Sends one request on a connection of its own.
    pub fn request(&self, request: bollard::BollardRequest) -> Answer {
        let address = self.address.clone();
        let host = self.host.clone();
        let path = request.uri().path().to_string();
        let limits = limits_for(request.method(), &path, self.timeout);
        let info = FaultInfo {
            endpoint: self.endpoint.clone(),
            request: shown_request(request.method(), &path),
        };
        let head_request = request.method() == Method::HEAD;
        let connect_timeout = self.timeout;
        Box::pin(async move {
            let request = origin_form(request, &host)?;
            let started = Instant::now();
            let unbound = Bounded {
                io: (),
                meter: Meter::new(limits, head_request),
                fault: info,
                deadline: limits
                    .deadline
                    .map(|d| Box::pin(tokio::time::sleep_until(started + d))),
                idle: None,
                last_byte: None,
            };
            let timeout = limits.deadline.unwrap_or(connect_timeout);
            match address {
                Address::Unix(path) => {
                    let io = tokio::net::UnixStream::connect(&path)
                        .await
                        .map_err(|e| connect_error(e, &path))?;
                    exchange(unbound.with(io), request).await
                }
                Address::Tcp(host) => {
                    let io = tcp(&host, timeout).await?;
                    exchange(unbound.with(io), request).await
                }
                Address::Tls { host, config, name } => {
                    let tcp = tcp(&host, timeout).await?;
                    let connector = tokio_rustls::TlsConnector::from(config);
                    let io = within(
                        timeout,
                        connector.connect(name, tcp),
                        &format!("the TLS handshake with {host} did not end"),
                    )
                    .await?;
                    exchange(unbound.with(io), request).await
                }
                Address::Ssh { args, shown } => {
                    let (io, stderr) = ssh::spawn(&args).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "cannot run `ssh` for {shown}: {e} (is the OpenSSH client \
                                 installed? `ssh -V`)"
                            ),
                        )
                    })?;
                    match exchange(unbound.with(io), request).await {
                        Ok(answer) => Ok(answer),
                        Err(e) => {
                            // ssh ended, most likely: say what it said.
                            let said = stderr.text(Duration::from_secs(3)).await;
                            if said.is_empty() {
                                return Err(e);
                            }
                            Err(bollard::errors::Error::IOError {
                                err: io::Error::other(SshFailed {
                                    shown,
                                    said,
                                    cause: chain(&e),
                                }),
                            })
                        }
                    }
                }
            }
        })
    }
}

/// `ssh … docker system dial-stdio` ended before the daemon answered; `said` is its stderr.
#[derive(Debug, Clone)]
pub struct SshFailed {
    pub shown: String,
    pub said: String,
    pub cause: String,
}

impl std::fmt::Display for SshFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ssh to {} failed before the daemon answered ({}); ssh said: {}",
            self.shown, self.cause, self.said
        )
    }
}

impl std::error::Error for SshFailed {}

/// `step` within `timeout`, else a time-out error saying "`what` within N s".
async fn within<T>(
    timeout: Duration,
    step: impl std::future::Future<Output = io::Result<T>>,
    what: &str,
) -> io::Result<T> {
    tokio::time::timeout(timeout, step).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} within {} s", timeout.as_secs()),
        )
    })?
}

/// A TCP connection to `host`, within `timeout`.
async fn tcp(host: &str, timeout: Duration) -> io::Result<tokio::net::TcpStream> {
    let io = within(
        timeout,
        tokio::net::TcpStream::connect(host),
        &format!("connecting to {host} did not succeed"),
    )
    .await?;
    // Small requests and answers: no waiting to fill a segment.
    let _ = io.set_nodelay(true);
    Ok(io)
}

impl Bounded<()> {
    /// The same limits, on a connection.
    fn with<S>(self, io: S) -> Bounded<S> {
        Bounded {
            io,
            meter: self.meter,
            fault: self.fault,
            deadline: self.deadline,
            idle: self.idle,
            last_byte: self.last_byte,
        }
    }
}

fn connect_error(e: io::Error, path: &std::path::Path) -> bollard::errors::Error {
    if e.kind() == io::ErrorKind::NotFound {
        bollard::errors::Error::SocketNotFoundError(path.display().to_string())
    } else {
        e.into()
    }
}

/// bollard builds absolute URIs (`http://docker/containers/json`); HTTP/1.1 to a server sends
/// the path and query, with the host in `Host`.
fn origin_form<B>(request: Request<B>, host: &str) -> Result<Request<B>, bollard::errors::Error> {
    let (mut parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    parts.uri = target.parse().map_err(|e: hyper::http::uri::InvalidUri| {
        bollard::errors::Error::IOError {
            err: io::Error::new(io::ErrorKind::InvalidInput, e),
        }
    })?;
    if !parts.headers.contains_key(hyper::header::HOST) {
        if let Ok(v) = hyper::header::HeaderValue::from_str(host) {
            parts.headers.insert(hyper::header::HOST, v);
        }
    }
    Ok(Request::from_parts(parts, body))
}

/// Sends `request` on `io` and returns the answer as soon as its head has arrived; the
/// connection lives on in a task of its own while the body is read, and ends with it.
async fn exchange<S, B>(
    io: Bounded<S>,
    request: Request<B>,
) -> Result<Response<Incoming>, bollard::errors::Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(lift)?;
    tokio::spawn(async move {
        // Its errors reach the answer's body, where the caller sees them.
        let _ = conn.with_upgrades().await;
    });
    sender.send_request(request).await.map_err(lift)
}

/// hyper's error, or the [`Fault`] under it as the error itself.
fn lift(e: hyper::Error) -> bollard::errors::Error {
    match find(&e) {
        Some(fault) => bollard::errors::Error::IOError {
            err: io::Error::other(fault),
        },
        None => e.into(),
    }
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
    if let Some(fault) = fault_in(e) {
        let text = fault.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(60);

    #[test]
    fn each_kind_of_request_has_its_limits() {
        let get = Method::GET;
        let list = limits_for(&get, "/containers/json", T);
        assert_eq!((list.deadline, list.body), (Some(T), Some(JSON_LIMIT)));
        let events = limits_for(&get, "/events", T);
        assert_eq!(
            (events.deadline, events.idle, events.line),
            (None, None, Some(LINE_LIMIT))
        );
        let archive = limits_for(&get, "/containers/abc/archive", T);
        assert_eq!((archive.deadline, archive.idle), (None, Some(T)));
        // A stat of the archive endpoint is a short request.
        assert_eq!(
            limits_for(&Method::HEAD, "/containers/abc/archive", T).deadline,
            Some(T)
        );
        let exec = limits_for(&Method::POST, "/exec/abc/start", T);
        assert_eq!(
            (exec.deadline, exec.upgraded),
            (None, Some(EXEC_OUTPUT_LIMIT))
        );
        assert_eq!(
            limits_for(&Method::POST, "/containers/abc/wait", T).deadline,
            None
        );
        assert_eq!(
            limits_for(&get, "/images/workbook/tools/get", T).deadline,
            None
        );
        assert_eq!(
            limits_for(&Method::POST, "/build", T).line,
            Some(LINE_LIMIT)
        );
        // A versioned path is the same request.
        assert_eq!(limits_for(&get, "/v1.41/events", T), events);
        assert_eq!(limits_for(&get, "/v1.41/containers/json", T), list);
    }

    #[test]
    fn requests_are_named_with_short_ids() {
        let id = "a".repeat(64);
        assert_eq!(
            shown_request(&Method::GET, &format!("/containers/{id}/archive")),
            "GET /containers/aaaaaaaaaaaa/archive"
        );
        assert_eq!(size(64 << 20), "64 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
    }
}
