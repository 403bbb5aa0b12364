//! The connection's IO: each read and write counted and timed against the request's limits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::fault::{Fault, FaultKind};
use super::meter::Meter;

/// A connection that enforces one request's [`Limits`](super::Limits) on what it reads.
pub(super) struct Bounded<S> {
    pub(super) io: S,
    pub(super) meter: Meter,
    pub(super) fault: FaultInfo,
    pub(super) deadline: Option<Pin<Box<Sleep>>>,
    /// Armed once the answer has begun.
    pub(super) idle: Option<Pin<Box<Sleep>>>,
    pub(super) last_byte: Option<Instant>,
}

/// What a fault message needs.
pub(super) struct FaultInfo {
    pub(super) endpoint: String,
    pub(super) request: String,
}

impl<S> Bounded<S> {
    pub(super) fn fail(&self, kind: FaultKind) -> io::Error {
        Fault {
            endpoint: self.fault.endpoint.clone(),
            request: self.fault.request.clone(),
            kind,
        }
        .into_io()
    }

    /// The deadline passed: which fault that is.
    pub(super) fn late(&self) -> io::Error {
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
