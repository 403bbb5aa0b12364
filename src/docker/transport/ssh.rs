//! `ssh://` endpoints: one `ssh … docker system dial-stdio` per request, the way the docker CLI
//! connects over ssh, HTTP spoken over its stdin and stdout. The process is the connection: it is
//! killed when the connection is dropped, and what it said on stderr (the reason a login failed)
//! is kept, at most [`STDERR_LIMIT`], for the error.

use std::io;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::task::JoinHandle;

/// What is kept of ssh's stderr.
const STDERR_LIMIT: usize = 16 << 10;

/// The connection: ssh's stdout to read, its stdin to write.
pub(super) struct SshIo {
    // Held so that dropping the connection kills the process (`kill_on_drop`).
    _child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// ssh's stderr, read to its end (the process's exit) in a task of its own.
pub(super) struct Stderr(JoinHandle<Vec<u8>>);

impl Stderr {
    /// What ssh said, once it has ended (within `wait`), on one line; empty if nothing.
    pub(super) async fn text(self, wait: Duration) -> String {
        let bytes = match tokio::time::timeout(wait, self.0).await {
            Ok(Ok(b)) => b,
            _ => return String::new(),
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            // Noise of a first connection, not a reason.
            .filter(|l| !l.starts_with("Warning: Permanently added"))
            .collect();
        crate::ui::safe_text::owned(lines.join(" / "))
    }
}

/// Starts `ssh ARGS`.
pub(super) fn spawn(args: &[String]) -> io::Result<(SshIo, Stderr)> {
    let mut child = tokio::process::Command::new("ssh")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(io::Error::other("ssh started without its pipes"));
    };
    let reader = tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = STDERR_LIMIT.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    });
    Ok((
        SshIo {
            _child: child,
            stdin,
            stdout,
        },
        Stderr(reader),
    ))
}

impl AsyncRead for SshIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for SshIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdin).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}
