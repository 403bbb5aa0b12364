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

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

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

/// Where the daemon listens.
#[derive(Debug, Clone)]
pub enum Address {
    Unix(PathBuf),
    /// `host:port`, plain HTTP.
    Tcp(String),
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

// ---------------------------------------------------------------- what went wrong

/// A request that broke its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The daemon, as [`crate::docker::endpoint::Endpoint`] shows it.
    pub endpoint: String,
    /// `GET /containers/json`.
    pub request: String,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Not one byte of an answer within the deadline.
    NoAnswer { secs: u64 },
    /// The answer began, then nothing came for `secs`.
    Stalled { secs: u64 },
    /// The deadline passed while the answer was still coming, `received` bytes of it.
    Slow { secs: u64, received: u64 },
    /// More body than `limit` bytes.
    TooLarge { limit: u64 },
    /// An error answer of more than `limit` bytes.
    ErrorTooLarge { limit: u64 },
    /// A line of more than `limit` bytes.
    LineTooLong { limit: u64 },
    /// A status line and headers of more than `limit` bytes.
    HeadTooLarge { limit: u64 },
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

const NOT_DOCKER: &str = "is it really a Docker Engine? Check DOCKER_HOST (or the docker \
                          context) and that `docker info` works";
const STUCK: &str = "Is it overloaded or stuck? Try `docker info`; restart Docker if that hangs \
                     too (WORKBOOK_DOCKER_TIMEOUT sets the wait)";

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, req) = (&self.endpoint, &self.request);
        match self.kind {
            FaultKind::NoAnswer { secs } => write!(
                f,
                "the Docker daemon at {at} did not answer {req} within {secs} s. {STUCK}"
            ),
            FaultKind::Stalled { secs } => write!(
                f,
                "the Docker daemon at {at} stopped sending in the middle of an answer to {req} \
                 (nothing for {secs} s). {STUCK}"
            ),
            FaultKind::Slow { secs, received } => write!(
                f,
                "the Docker daemon at {at} took more than {secs} s to send its answer to {req} \
                 ({} so far, and not done). {STUCK}",
                size(received)
            ),
            FaultKind::TooLarge { limit } => write!(
                f,
                "the Docker daemon at {at} sent more than {} for {req}; {NOT_DOCKER}",
                size(limit)
            ),
            FaultKind::ErrorTooLarge { limit } => write!(
                f,
                "the Docker daemon at {at} sent an error of more than {} for {req} (its errors \
                 are one short message); {NOT_DOCKER}",
                size(limit)
            ),
            FaultKind::LineTooLong { limit } => write!(
                f,
                "the Docker daemon at {at} sent a line of more than {} for {req} (its lines are \
                 one short JSON message each); {NOT_DOCKER}",
                size(limit)
            ),
            FaultKind::HeadTooLarge { limit } => write!(
                f,
                "the Docker daemon at {at} sent headers of more than {} for {req}; {NOT_DOCKER}",
                size(limit)
            ),
        }
    }
}

impl std::error::Error for Fault {}

impl Fault {
    fn into_io(self) -> io::Error {
        let kind = match self.kind {
            FaultKind::NoAnswer { .. } | FaultKind::Stalled { .. } | FaultKind::Slow { .. } => {
                io::ErrorKind::TimedOut
            }
            _ => io::ErrorKind::InvalidData,
        };
        remember(&self);
        io::Error::new(kind, self)
    }
}

/// The last faults, for errors that lost their cause on the way: bollard turns a body error of
/// a JSON-line stream (events, build progress) into a string of hyper's, which says only "error
/// reading a body from connection".
static RECENT: Mutex<Vec<(std::time::Instant, Fault)>> = Mutex::new(Vec::new());
const KEPT_FAULTS: usize = 8;

fn remember(fault: &Fault) {
    if let Ok(mut recent) = RECENT.lock() {
        if recent.len() == KEPT_FAULTS {
            recent.remove(0);
        }
        recent.push((std::time::Instant::now(), fault.clone()));
    }
}

/// The fault behind `e`, if a limit of this transport ended the request.
pub fn fault_of(e: &bollard::errors::Error) -> Option<Fault> {
    fault_in(e)
}

/// [`fault_of`] for any error.
pub fn fault_in(e: &(dyn std::error::Error + 'static)) -> Option<Fault> {
    use bollard::errors::Error;
    let found = match e.downcast_ref::<Error>() {
        // Transparent variants: their `source()` skips the error they wrap.
        Some(Error::IOError { err }) => find(err),
        Some(Error::HyperResponseError { err }) => find(err),
        _ => find(e),
    };
    found.or_else(|| {
        // The cause is gone, but the connection broke while its body was read: a fault of the
        // last seconds is the likely one (it surfaces within milliseconds).
        let mut text = e.to_string();
        let mut cur = e.source();
        while let Some(s) = cur {
            text.push_str(&s.to_string());
            cur = s.source();
        }
        if !text.contains("error reading a body from connection") {
            return None;
        }
        let recent = RECENT.lock().ok()?;
        recent
            .iter()
            .rev()
            .find(|(at, _)| at.elapsed() < Duration::from_secs(5))
            .map(|(_, f)| f.clone())
    })
}

fn find(e: &(dyn std::error::Error + 'static)) -> Option<Fault> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(f) = err.downcast_ref::<Fault>() {
            return Some(f.clone());
        }
        // io::Error's `source()` skips the error it carries: look inside.
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            if let Some(f) = find(inner) {
                return Some(f);
            }
        }
        cur = err.source();
    }
    None
}

// ---------------------------------------------------------------- counting an answer

/// Follows an HTTP/1.1 answer byte by byte, as far as its limits need: the end of the head
/// (status, `Content-Length`, `Transfer-Encoding`), then the body through its chunked framing,
/// counting body bytes and the current line. Framing it cannot follow is counted as body
/// (hyper reports the framing error itself).
#[derive(Debug)]
pub struct Meter {
    limits: Limits,
    head_request: bool,
    phase: Phase,
    head: Vec<u8>,
    body_limit: Option<u64>,
    error: bool,
    body: u64,
    line: u64,
    upgraded: u64,
    /// Every byte of the answer so far, framing included.
    pub received: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Length(u64),
    UntilClose,
    Chunked(Chunk),
    Upgraded,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size (and any extension) up to its line end.
    Size {
        value: u64,
        ext: bool,
    },
    Data(u64),
    /// The line end after a chunk's data.
    DataEnd,
    /// Trailer lines after the last chunk, `len` bytes into the current one.
    Trailer {
        len: usize,
    },
}

/// Which limit the answer broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    Body(u64),
    Error(u64),
    Line(u64),
    Head(u64),
}

impl Broken {
    fn kind(self) -> FaultKind {
        match self {
            Broken::Body(limit) => FaultKind::TooLarge { limit },
            Broken::Error(limit) => FaultKind::ErrorTooLarge { limit },
            Broken::Line(limit) => FaultKind::LineTooLong { limit },
            Broken::Head(limit) => FaultKind::HeadTooLarge { limit },
        }
    }
}

impl Meter {
    pub fn new(limits: Limits, head_request: bool) -> Meter {
        Meter {
            limits,
            head_request,
            phase: Phase::Head,
            head: Vec::new(),
            body_limit: None,
            error: false,
            body: 0,
            line: 0,
            upgraded: 0,
            received: 0,
        }
    }

    /// Whether any byte of the answer arrived.
    pub fn begun(&self) -> bool {
        self.received > 0
    }

    pub fn upgraded(&self) -> bool {
        self.phase == Phase::Upgraded
    }

    /// Counts bytes as they arrive; `Err` when they break a limit.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Broken> {
        self.received += bytes.len() as u64;
        while !bytes.is_empty() {
            match self.phase {
                Phase::Head => {
                    // The blank line may straddle two reads: look from 3 bytes back.
                    let old = self.head.len();
                    let from = old.saturating_sub(3);
                    self.head.extend_from_slice(bytes);
                    match find_head_end(&self.head[from..]) {
                        Some(end) => {
                            let end = from + end;
                            bytes = &bytes[end - old..];
                            self.end_head(end);
                        }
                        None if self.head.len() > HEAD_LIMIT => {
                            return Err(Broken::Head(HEAD_LIMIT as u64))
                        }
                        None => bytes = &[],
                    }
                }
                Phase::Length(left) => {
                    let n = (bytes.len() as u64).min(left);
                    self.data(&bytes[..n as usize])?;
                    bytes = &bytes[n as usize..];
                    self.phase = if n == left {
                        Phase::Done
                    } else {
                        Phase::Length(left - n)
                    };
                }
                Phase::UntilClose => {
                    self.data(bytes)?;
                    bytes = &[];
                }
                Phase::Chunked(c) => bytes = self.chunked(c, bytes)?,
                Phase::Upgraded => {
                    self.upgraded += bytes.len() as u64;
                    if let Some(limit) = self.limits.upgraded {
                        if self.upgraded > limit {
                            return Err(Broken::Body(limit));
                        }
                    }
                    bytes = &[];
                }
                // A next answer on a connection kept alive (none is asked): not ours to count.
                Phase::Done => bytes = &[],
            }
        }
        Ok(())
    }

    /// The head is `self.head[..end]` (its blank line included): what follows it.
    fn end_head(&mut self, end: usize) {
        let head = String::from_utf8_lossy(&self.head[..end]).into_owned();
        self.head.clear();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut chunked) = (None, false);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<u64>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
            }
        }
        self.error = status >= 400;
        self.body_limit = if self.error {
            Some(self.limits.error_body)
        } else {
            self.limits.body
        };
        self.phase = match status {
            101 => Phase::Upgraded,
            // An interim answer: the real head follows.
            100..=199 => Phase::Head,
            204 | 304 => Phase::Done,
            _ if self.head_request => Phase::Done,
            _ if chunked => Phase::Chunked(Chunk::Size {
                value: 0,
                ext: false,
            }),
            _ => match length {
                Some(0) => Phase::Done,
                Some(n) => Phase::Length(n),
                None => Phase::UntilClose,
            },
        };
    }

    /// Body bytes.
    fn data(&mut self, bytes: &[u8]) -> Result<(), Broken> {
        self.body += bytes.len() as u64;
        if let Some(limit) = self.body_limit {
            if self.body > limit {
                return Err(if self.error {
                    Broken::Error(limit)
                } else {
                    Broken::Body(limit)
                });
            }
        }
        if let (Some(limit), false) = (self.limits.line, self.error) {
            let mut run = self.line;
            let mut rest = bytes;
            while let Some(i) = rest.iter().position(|b| *b == b'\n') {
                if run + i as u64 > limit {
                    return Err(Broken::Line(limit));
                }
                run = 0;
                rest = &rest[i + 1..];
            }
            run += rest.len() as u64;
            if run > limit {
                return Err(Broken::Line(limit));
            }
            self.line = run;
        }
        Ok(())
    }

    fn chunked<'b>(&mut self, state: Chunk, bytes: &'b [u8]) -> Result<&'b [u8], Broken> {
        let mut i = 0;
        let mut state = state;
        while i < bytes.len() {
            match state {
                Chunk::Size { value, ext } => {
                    let b = bytes[i];
                    i += 1;
                    state = match b {
                        b'\n' if value == 0 => Chunk::Trailer { len: 0 },
                        b'\n' => Chunk::Data(value),
                        _ if ext || b == b'\r' => Chunk::Size { value, ext },
                        b';' | b' ' | b'\t' => Chunk::Size { value, ext: true },
                        _ => match (b as char).to_digit(16) {
                            Some(d) if value < (1 << 56) => Chunk::Size {
                                value: value * 16 + u64::from(d),
                                ext,
                            },
                            // Not chunked framing: count the rest as body.
                            _ => {
                                self.phase = Phase::UntilClose;
                                self.data(&bytes[i - 1..])?;
                                return Ok(&[]);
                            }
                        },
                    };
                }
                Chunk::Data(left) => {
                    let n = ((bytes.len() - i) as u64).min(left) as usize;
                    self.data(&bytes[i..i + n])?;
                    i += n;
                    state = if n as u64 == left {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - n as u64)
                    };
                }
                Chunk::DataEnd => {
                    if bytes[i] == b'\n' {
                        state = Chunk::Size {
                            value: 0,
                            ext: false,
                        };
                    }
                    i += 1;
                }
                Chunk::Trailer { len } => {
                    let b = bytes[i];
                    i += 1;
                    state = match b {
                        b'\n' if len == 0 => {
                            self.phase = Phase::Done;
                            return Ok(&bytes[i..]);
                        }
                        b'\n' => Chunk::Trailer { len: 0 },
                        b'\r' => Chunk::Trailer { len },
                        _ if len >= HEAD_LIMIT => return Err(Broken::Head(HEAD_LIMIT as u64)),
                        _ => Chunk::Trailer { len: len + 1 },
                    };
                }
            }
        }
        self.phase = Phase::Chunked(state);
        Ok(&[])
    }
}

/// Where the blank line ending a head ends (just past `\r\n\r\n`), in `buf`.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

// ---------------------------------------------------------------- the connection's IO

/// A connection that enforces one request's [`Limits`] on what it reads.
struct Bounded<S> {
    io: S,
    meter: Meter,
    fault: FaultInfo,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Armed once the answer has begun.
    idle: Option<Pin<Box<Sleep>>>,
    last_byte: Option<Instant>,
}

/// What a fault message needs.
struct FaultInfo {
    endpoint: String,
    request: String,
}

impl<S> Bounded<S> {
    fn fail(&self, kind: FaultKind) -> io::Error {
        Fault {
            endpoint: self.fault.endpoint.clone(),
            request: self.fault.request.clone(),
            kind,
        }
        .into_io()
    }

    /// The deadline passed: which fault that is.
    fn late(&self) -> io::Error {
        let secs = self.meter.limits.deadline.unwrap_or_default().as_secs();
        if !self.meter.begun() {
            return self.fail(FaultKind::NoAnswer { secs });
        }
        match self.last_byte {
            // Nothing for a second or more: the daemon stopped, rather than being slow.
            Some(at) if at.elapsed() >= Duration::from_secs(1) => self.fail(FaultKind::Stalled {
                secs: at.elapsed().as_secs_f64().round() as u64,
            }),
            _ => self.fail(FaultKind::Slow {
                secs,
                received: self.meter.received,
            }),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let upgraded = me.meter.upgraded();
        if let (Some(deadline), false) = (me.deadline.as_mut(), upgraded) {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(me.late()));
            }
        }
        let before = buf.filled().len();
        match Pin::new(&mut me.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if !fresh.is_empty() {
                    let now = Instant::now();
                    me.last_byte = Some(now);
                    if let Err(broken) = me.meter.feed(fresh) {
                        return Poll::Ready(Err(me.fail(broken.kind())));
                    }
                    if let Some(idle) = me.meter.limits.idle {
                        match me.idle.as_mut() {
                            Some(sleep) => sleep.as_mut().reset(now + idle),
                            None => me.idle = Some(Box::pin(tokio::time::sleep_until(now + idle))),
                        }
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if let (Some(sleep), false) = (me.idle.as_mut(), me.meter.upgraded()) {
                    if sleep.as_mut().poll(cx).is_ready() {
                        let secs = me.meter.limits.idle.unwrap_or_default().as_secs();
                        return Poll::Ready(Err(me.fail(FaultKind::Stalled { secs })));
                    }
                }
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if let (Some(deadline), false) = (me.deadline.as_mut(), me.meter.upgraded()) {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(me.late()));
            }
        }
        Pin::new(&mut me.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if let (Some(deadline), false) = (me.deadline.as_mut(), me.meter.upgraded()) {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(me.late()));
            }
        }
        Pin::new(&mut me.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------- the transport

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
            Address::Unix(_) => "docker".to_string(),
            Address::Tcp(h) => h.clone(),
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
            match address {
                Address::Unix(path) => {
                    let io = tokio::net::UnixStream::connect(&path)
                        .await
                        .map_err(|e| connect_error(e, &path))?;
                    exchange(unbound.with(io), request).await
                }
                Address::Tcp(host) => {
                    let io = tokio::net::TcpStream::connect(&host).await?;
                    // Small requests and answers: no waiting to fill a segment.
                    let _ = io.set_nodelay(true);
                    exchange(unbound.with(io), request).await
                }
            }
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(60);

    fn meter(method: &Method, path: &str) -> Meter {
        Meter::new(limits_for(method, path, T), method == Method::HEAD)
    }

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

    #[test]
    fn a_json_answer_is_counted_through_its_chunks() {
        let mut m = meter(&Method::GET, "/containers/json");
        let answer =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1,2]\r\n3;x=y\r\n,[]\r\n0\r\n\r\n";
        // Byte by byte: every split of the framing.
        for b in answer.iter() {
            m.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(m.body, 8);
        assert_eq!(m.phase, Phase::Done);
        // In one read, with a head split anywhere, the same.
        for split in 1..answer.len() {
            let mut m = meter(&Method::GET, "/containers/json");
            m.feed(&answer[..split]).unwrap();
            m.feed(&answer[split..]).unwrap();
            assert_eq!((m.body, m.phase), (8, Phase::Done), "split at {split}");
        }
    }

    #[test]
    fn an_endless_body_breaks_its_limit() {
        let mut m = meter(&Method::GET, "/containers/json");
        m.feed(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
            .unwrap();
        let blob = vec![b'1'; 1 << 20];
        let mut sent = 1u64;
        let broken = loop {
            match m.feed(&blob) {
                Ok(()) => sent += blob.len() as u64,
                Err(b) => break b,
            }
            assert!(sent <= JSON_LIMIT + (1 << 20), "never broke");
        };
        assert_eq!(broken, Broken::Body(JSON_LIMIT));
    }

    #[test]
    fn an_error_answer_is_small() {
        let mut m = meter(&Method::GET, "/volumes");
        m.feed(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let chunk = format!("10000\r\n{}\r\n", "A".repeat(65536));
        assert!(m.feed(chunk.as_bytes()).is_ok());
        assert_eq!(m.feed(chunk.as_bytes()), Err(Broken::Error(ERROR_LIMIT)));
    }

    #[test]
    fn an_event_line_is_bounded_and_lines_are_not() {
        let mut m = meter(&Method::GET, "/events");
        m.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        // Many short lines: far more than a line's limit in all.
        let lines = "{\"Type\":\"container\"}\n".repeat(4096);
        let chunk = format!("{:x}\r\n{lines}\r\n", lines.len());
        for _ in 0..64 {
            m.feed(chunk.as_bytes()).unwrap();
        }
        // One line that never ends, across chunks (the chunk framing has line ends of its own).
        let long = format!("10000\r\n{}\r\n", "x".repeat(65536));
        let mut fed = 0;
        let broken = loop {
            match m.feed(long.as_bytes()) {
                Ok(()) => fed += 65536,
                Err(b) => break b,
            }
            assert!(fed <= LINE_LIMIT + 65536, "never broke");
        };
        assert_eq!(broken, Broken::Line(LINE_LIMIT));
    }

    #[test]
    fn a_line_ending_inside_a_read_counts_from_the_line_before() {
        let mut m = meter(&Method::GET, "/events");
        m.feed(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        let almost = vec![b'x'; LINE_LIMIT as usize - 1];
        m.feed(&almost).unwrap();
        // Ends that line at the limit; one of exactly the limit follows, then a short one.
        let mut next = b"y\n".to_vec();
        next.extend(vec![b'z'; LINE_LIMIT as usize]);
        next.extend_from_slice(b"\nab");
        m.feed(&next).unwrap();
        // One byte over, in the middle of a read.
        let mut over = b"\n".to_vec();
        over.extend(vec![b'w'; LINE_LIMIT as usize + 1]);
        over.extend_from_slice(b"\nok\n");
        assert_eq!(m.feed(&over), Err(Broken::Line(LINE_LIMIT)));
    }

    #[test]
    fn no_body_after_head_204_or_101() {
        let mut m = meter(&Method::HEAD, "/containers/abc/archive");
        m.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            .unwrap();
        assert_eq!(m.phase, Phase::Done);
        let mut m = meter(&Method::DELETE, "/containers/abc");
        m.feed(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!(m.phase, Phase::Done);
        let mut m = meter(&Method::POST, "/exec/abc/start");
        m.feed(b"HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n\x01\0\0\0\0\0\0\x02ok")
            .unwrap();
        assert!(m.upgraded());
        let blob = vec![0u8; 1 << 20];
        let mut fed = 0u64;
        while m.feed(&blob).is_ok() {
            fed += blob.len() as u64;
            assert!(fed <= EXEC_OUTPUT_LIMIT + (1 << 20), "never broke");
        }
    }

    #[test]
    fn headers_without_an_end_break_the_head_limit() {
        let mut m = meter(&Method::GET, "/_ping");
        m.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        let junk = vec![b'h'; 4096];
        let mut fed = 0;
        while m.feed(&junk).is_ok() {
            fed += junk.len();
            assert!(fed <= HEAD_LIMIT + 4096, "never broke");
        }
    }

    #[test]
    fn a_fault_is_found_under_bollards_error() {
        let fault = Fault {
            endpoint: "unix:///x.sock (from DOCKER_HOST)".into(),
            request: "GET /containers/json".into(),
            kind: FaultKind::TooLarge { limit: JSON_LIMIT },
        };
        let e = bollard::errors::Error::IOError {
            err: io::Error::other(io::Error::other(fault.clone())),
        };
        assert_eq!(fault_of(&e), Some(fault.clone()));
        assert!(fault.to_string().contains(
            "sent more than 64 MiB for GET /containers/json; is it really a Docker Engine?"
        ));
        assert_eq!(fault_of(&bollard::errors::Error::RequestTimeoutError), None);
    }
}
