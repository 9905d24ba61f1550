//! Telling HTTP/2 from HTTP/1.1 on a plain connection: read until the first bytes either are
//! the HTTP/2 connection preface (prior-knowledge h2c, as Traefik sends with `h2c://`) or
//! cannot be, then replay those bytes to whichever server takes the connection.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use switchyard_core::http1::H2_PREFACE;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// A stream with some already-read bytes put back in front.
pub struct Prefaced<S> {
    inner: S,
    head: Vec<u8>,
    at: usize,
}

/// Reads the first bytes (within `wait`) and says whether they are the HTTP/2 preface. `None`
/// when the peer sent nothing in time or closed.
pub async fn detect<S: AsyncRead + Unpin>(
    mut inner: S,
    wait: Duration,
) -> Option<(Prefaced<S>, bool)> {
    let mut head = Vec::with_capacity(4096);
    let read = async {
        loop {
            let n = inner.read_buf(&mut head).await.ok()?;
            let seen = head.len().min(H2_PREFACE.len());
            if n == 0 || head[..seen] != H2_PREFACE[..seen] {
                return Some(false).filter(|_| !head.is_empty());
            }
            if seen == H2_PREFACE.len() {
                return Some(true);
            }
        }
    };
    let h2 = tokio::time::timeout(wait, read).await.ok()??;
    Some((Prefaced { inner, head, at: 0 }, h2))
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefaced<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.head.len() {
            let n = (this.head.len() - this.at).min(dst.remaining());
            dst.put_slice(&this.head[this.at..this.at + n]);
            this.at += n;
            if this.at == this.head.len() {
                this.head = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, dst)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefaced<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
