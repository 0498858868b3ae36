//! [`IdleTimeout`]: a connection that fails with `TimedOut` once a read or write has waited on
//! the peer for longer than the idle timeout — a client that stops sending a body, or stops
//! reading a download, loses its connection and everything the connection held.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// An I/O object with an idle timeout. Progress in either direction counts as activity; the
/// timer is re-armed lazily (only when it fires), so a busy connection pays for an `Instant` read
/// per operation, not for timer updates.
pub struct IdleTimeout<T> {
    inner: T,
    timer: Pin<Box<Sleep>>,
    idle: Duration,
    last_activity: Instant,
}

impl<T> IdleTimeout<T> {
    /// Wraps `inner`, closing it after `idle` without progress.
    pub fn new(inner: T, idle: Duration) -> IdleTimeout<T> {
        let now = Instant::now();
        IdleTimeout { inner, timer: Box::pin(tokio::time::sleep_until(now + idle)), idle, last_activity: now }
    }

    /// Records progress (when `progress`), or checks the timer when the operation has to wait.
    fn check<R>(&mut self, poll: Poll<io::Result<R>>, progress: bool, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                if progress {
                    self.last_activity = Instant::now();
                }
                Poll::Ready(result)
            }
            Poll::Pending => loop {
                if self.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let deadline = self.last_activity + self.idle;
                if Instant::now() >= deadline {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the connection was idle too long",
                    )));
                }
                // There was activity since the timer was armed: arm it for the new deadline.
                self.timer.as_mut().reset(deadline);
            },
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.check(poll, true, cx)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(poll, true, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(poll, true, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A flush moves no bytes (hyper flushes on every wake-up, even with nothing to write):
        // it never counts as activity, but one that waits on the peer times out like a write.
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(poll, false, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_times_out_and_an_active_one_does_not() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut a = IdleTimeout::new(a, Duration::from_secs(10));
        // Activity every 6 s keeps it open past the first 10 s.
        let writer = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(6)).await;
                b.write_all(b"x").await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(b);
        });
        let mut byte = [0u8; 1];
        for _ in 0..3 {
            a.read_exact(&mut byte).await.unwrap();
        }
        let start = Instant::now();
        let err = a.read_exact(&mut byte).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        writer.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn flushing_is_not_activity() {
        let (a, _b) = tokio::io::duplex(64);
        let mut a = IdleTimeout::new(a, Duration::from_secs(10));
        let start = Instant::now();
        let mut byte = [0u8; 1];
        // A stalled read, with a flush every second as hyper flushes on each wake-up: the flushes
        // succeed and move nothing, so the connection is still closed 10 s after the start.
        let mut flushes = 0;
        let err = loop {
            flushes += 1;
            assert!(flushes <= 30, "30 s of flushes kept a stalled connection open");
            a.flush().await.unwrap();
            match tokio::time::timeout(Duration::from_secs(1), a.read_exact(&mut byte)).await {
                Ok(result) => break result.unwrap_err(),
                Err(_elapsed) => continue,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }
}
