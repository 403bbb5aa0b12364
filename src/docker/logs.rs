//! A container's log, read whole or its last lines: what a helper printed, or why a learner's
//! container stopped.

use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

/// Standard output and standard error of container `id`, the last `tail` lines of each when
/// given. Each stream keeps at most [`LIMIT`] bytes.
pub async fn read(
    docker: &Docker,
    id: &str,
    tail: Option<usize>,
) -> Result<(String, String), DockerError> {
    let mut opts = LogsOptionsBuilder::default().stdout(true).stderr(true);
    if let Some(n) = tail {
        opts = opts.tail(&n.to_string());
    }
    let mut stream = docker.logs(id, Some(opts.build()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while let Some(item) = stream.next().await {
        match item? {
            LogOutput::StdErr { message } if err.len() < LIMIT => err.extend_from_slice(&message),
            LogOutput::StdErr { .. } => {}
            chunk if out.len() < LIMIT => out.extend_from_slice(&chunk.into_bytes()),
            _ => {}
        }
    }
    Ok((
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    ))
}

/// Bytes kept per stream.
pub const LIMIT: usize = 64 * 1024 * 1024;
