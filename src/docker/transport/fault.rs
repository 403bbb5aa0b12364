//! What went wrong: the [`Fault`] a bounded connection records, its sentence, and finding it
//! again under bollard's error.

use std::fmt;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use super::size;

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

pub(super) const NOT_DOCKER: &str =
    "is it really a Docker Engine? Check DOCKER_HOST (or the docker \
                          context) and that `docker info` works";
pub(super) const STUCK: &str =
    "Is it overloaded or stuck? Try `docker info`; restart Docker if that hangs \
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
    pub(super) fn into_io(self) -> io::Error {
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
pub(super) static RECENT: Mutex<Vec<(std::time::Instant, Fault)>> = Mutex::new(Vec::new());
pub(super) const KEPT_FAULTS: usize = 8;

pub(super) fn remember(fault: &Fault) {
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

pub(super) fn find(e: &(dyn std::error::Error + 'static)) -> Option<Fault> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::transport::JSON_LIMIT;

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
