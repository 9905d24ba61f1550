//! The upstream response body: decodes Content-Length, chunked or close-delimited framing from
//! the connection as the client reads it, and hands the connection back to its idle list when
//! the body ended cleanly and the upstream keeps connections alive. A body dropped early
//! closes its connection.

use super::{Conn, IdleConns};
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

/// The upstream connection of a `101 Switching Protocols` answer, in the response extensions.
#[derive(Clone)]
pub struct UpstreamUpgrade(pub Arc<Mutex<Option<(tokio::net::TcpStream, Bytes)>>>);

impl UpstreamUpgrade {
    pub(super) fn new(conn: Conn) -> Self {
        UpstreamUpgrade(Arc::new(Mutex::new(Some((conn.io, conn.buf.freeze())))))
    }
    /// Takes the stream and the bytes already read from it.
    pub fn take(&self) -> Option<(tokio::net::TcpStream, Bytes)> {
        self.0.lock().ok()?.take()
    }
}

/// Longest chunk-size or trailer line accepted from an upstream.
const MAX_LINE: usize = 4096;

pub(super) enum Framing {
    Len(u64),
    Chunked(Chunk),
    Close,
    Done,
}

#[derive(Clone, Copy)]
pub(super) enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// A streaming upstream response body.
pub struct UpBody {
    conn: Option<Conn>,
    framing: Framing,
    reuse: bool,
    home: Option<(Arc<IdleConns>, usize)>,
}

impl UpBody {
    pub(super) fn new(
        conn: Conn,
        framing: Framing,
        reuse: bool,
        home: (Arc<IdleConns>, usize),
    ) -> Self {
        let mut b = UpBody {
            conn: Some(conn),
            framing,
            reuse,
            home: Some(home),
        };
        if matches!(b.framing, Framing::Len(0) | Framing::Done) {
            b.finish();
        }
        b
    }

    /// An empty body (no connection).
    pub fn empty() -> Self {
        UpBody {
            conn: None,
            framing: Framing::Done,
            reuse: false,
            home: None,
        }
    }

    fn finish(&mut self) {
        self.framing = Framing::Done;
        if let (Some(conn), Some((idle, worker))) = (self.conn.take(), self.home.take()) {
            if self.reuse && conn.buf.is_empty() {
                idle.put(worker, conn);
            }
        }
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(conn) = self.conn.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        if conn.buf.capacity() - conn.buf.len() < 4096 {
            conn.buf.reserve(16 * 1024);
        }
        // Through AsyncRead (not try_read): a short read clears the socket's readiness, so the
        // idle-connection check before reuse needs no system call.
        tokio_util::io::poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.buf)
    }

    /// Advances the chunked decoder over buffered bytes; `Some` when it yields or fails.
    fn chunked_step(&mut self) -> Option<Result<Option<Bytes>, io::Error>> {
        let bad = |m: &str| {
            Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("upstream chunked body: {m}"),
            )))
        };
        let conn = self.conn.as_mut()?;
        let Framing::Chunked(state) = &mut self.framing else {
            return None;
        };
        match *state {
            Chunk::Size => {
                let Some(nl) = memchr::memchr(b'\n', &conn.buf) else {
                    return (conn.buf.len() > MAX_LINE)
                        .then(|| bad("chunk-size line too long"))
                        .flatten();
                };
                let line = &conn.buf[..nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let hex_part = line.split(|&b| b == b';').next().unwrap_or(b"");
                let hex_part = hex_part.trim_ascii();
                let valid = !hex_part.is_empty()
                    && hex_part.len() <= 15
                    && hex_part.iter().all(u8::is_ascii_hexdigit);
                let Some(size) = valid
                    .then(|| {
                        std::str::from_utf8(hex_part)
                            .ok()
                            .and_then(|s| u64::from_str_radix(s, 16).ok())
                    })
                    .flatten()
                else {
                    return bad("invalid chunk size");
                };
                conn.buf.advance(nl + 1);
                *state = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
                Some(Ok(None))
            }
            Chunk::Data(n) => {
                if conn.buf.is_empty() {
                    return None;
                }
                let take = usize::try_from(n).unwrap_or(usize::MAX).min(conn.buf.len());
                let data = conn.buf.split_to(take).freeze();
                *state = if n == take as u64 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(n - take as u64)
                };
                Some(Ok(Some(data)))
            }
            Chunk::DataEnd => {
                if conn.buf.len() < 2 {
                    return None;
                }
                if &conn.buf[..2] != b"\r\n" {
                    return bad("missing CRLF after chunk data");
                }
                conn.buf.advance(2);
                *state = Chunk::Size;
                Some(Ok(None))
            }
            Chunk::Trailers => {
                let Some(nl) = memchr::memchr(b'\n', &conn.buf) else {
                    return (conn.buf.len() > MAX_LINE)
                        .then(|| bad("trailer line too long"))
                        .flatten();
                };
                let empty = nl == 0 || (nl == 1 && conn.buf[0] == b'\r');
                conn.buf.advance(nl + 1);
                if empty {
                    self.finish();
                }
                Some(Ok(None))
            }
        }
    }
}

impl Body for UpBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        loop {
            match &mut this.framing {
                Framing::Done => return Poll::Ready(None),
                Framing::Len(n) => {
                    let Some(conn) = this.conn.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if !conn.buf.is_empty() {
                        let take = usize::try_from(*n)
                            .unwrap_or(usize::MAX)
                            .min(conn.buf.len());
                        let data = conn.buf.split_to(take).freeze();
                        *n -= take as u64;
                        if *n == 0 {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                Framing::Close => {
                    let Some(conn) = this.conn.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if !conn.buf.is_empty() {
                        let data = conn.buf.split().freeze();
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                }
                Framing::Chunked(_) => match this.chunked_step() {
                    Some(Ok(Some(data))) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Some(Ok(None)) => continue,
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None => {}
                },
            }
            let n = ready!(this.poll_fill(cx))?;
            if n == 0 {
                if matches!(this.framing, Framing::Close) {
                    this.reuse = false;
                    this.finish();
                    return Poll::Ready(None);
                }
                this.conn = None;
                this.framing = Framing::Done;
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "upstream closed mid-body",
                ))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Len(n) => SizeHint::with_exact(n),
            Framing::Done => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}
