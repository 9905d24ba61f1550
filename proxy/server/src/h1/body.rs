//! The request body of an HTTP/1.1 connection: read from the connection as the pipeline
//! forwards it, framed by Content-Length or strict chunked coding (the same rules as the
//! head), ending exactly where the next pipelined request begins.

use super::{lock, SharedWire};
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use switchyard_core::http1::{ChunkedScanner, Step};

/// Where the current request body stands.
pub enum Framing {
    /// No body, or all of it read.
    Done,
    /// This many bytes still to come.
    Length(u64),
    /// Chunked coding, decoded as it comes.
    Chunked(ChunkedScanner),
}

/// A request body streaming from the connection.
pub struct ConnBody {
    wire: SharedWire,
}

impl ConnBody {
    pub(super) fn new(wire: SharedWire) -> Self {
        ConnBody { wire }
    }
}

fn err(m: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, m)
}

impl Body for ConnBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let mut g = lock(&self.wire);
        let w = &mut *g;
        if let Some(at) = w.continue_owed {
            const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
            let Some(io) = w.io.as_mut() else {
                return Poll::Ready(Some(Err(err("connection closed".into()))));
            };
            let n = ready!(tokio::io::AsyncWrite::poll_write(
                Pin::new(io),
                cx,
                &CONTINUE[at..]
            ))?;
            let at = at + n;
            w.continue_owed = (at < CONTINUE.len()).then_some(at);
            if w.continue_owed.is_some() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        loop {
            match &mut w.body {
                Framing::Done => return Poll::Ready(None),
                Framing::Length(n) if !w.buf.is_empty() => {
                    let take = usize::try_from(*n).unwrap_or(usize::MAX).min(w.buf.len());
                    *n -= take as u64;
                    if *n == 0 {
                        w.body = Framing::Done;
                    }
                    return Poll::Ready(Some(Ok(Frame::data(w.buf.split_to(take).freeze()))));
                }
                Framing::Length(_) => {}
                Framing::Chunked(scanner) if !w.buf.is_empty() => match scanner.step(&w.buf) {
                    Ok(Step::Data(k)) => {
                        return Poll::Ready(Some(Ok(Frame::data(w.buf.split_to(k).freeze()))))
                    }
                    Ok(Step::Framing(k)) => {
                        w.buf.advance(k);
                        if k > 0 {
                            continue;
                        }
                    }
                    Ok(Step::End(k)) => {
                        w.buf.advance(k);
                        w.body = Framing::Done;
                        return Poll::Ready(None);
                    }
                    Err(e) => {
                        // The framing broke: nothing after it on this connection can be trusted.
                        w.broken = true;
                        w.body = Framing::Done;
                        return Poll::Ready(Some(Err(err(format!("chunked request body: {e}")))));
                    }
                },
                Framing::Chunked(_) => {}
            }
            let Some(io) = w.io.as_mut() else {
                return Poll::Ready(Some(Err(err("connection closed".into()))));
            };
            if w.buf.capacity() - w.buf.len() < 4096 {
                w.buf.reserve(64 * 1024);
            }
            let n = ready!(tokio_util::io::poll_read_buf(Pin::new(io), cx, &mut w.buf))?;
            if n == 0 {
                w.body = Framing::Done;
                w.io = None;
                return Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed mid-body",
                ))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(lock(&self.wire).body, Framing::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match lock(&self.wire).body {
            Framing::Done => SizeHint::with_exact(0),
            Framing::Length(n) => SizeHint::with_exact(n),
            Framing::Chunked(_) => SizeHint::default(),
        }
    }
}

/// After a response: consumes what is left of the request body if it is already buffered.
/// False when the connection cannot be reused (body unread, or the connection broke).
pub fn drain(wire: &SharedWire) -> bool {
    let mut g = lock(wire);
    let w = &mut *g;
    if w.io.is_none() || w.broken {
        return false;
    }
    loop {
        match &mut w.body {
            Framing::Done => return true,
            Framing::Length(n) => {
                let have = w.buf.len() as u64;
                if have < *n {
                    return false;
                }
                let n = *n as usize;
                w.buf.advance(n);
                w.body = Framing::Done;
            }
            Framing::Chunked(scanner) => match scanner.step(&w.buf) {
                Ok(Step::Data(k)) | Ok(Step::Framing(k)) if k > 0 => w.buf.advance(k),
                Ok(Step::End(k)) => {
                    w.buf.advance(k);
                    w.body = Framing::Done;
                }
                _ => return false,
            },
        }
    }
}
