//! The request body the pipeline forwards, whichever server read the request: switchyard's
//! own HTTP/1.1 connection ([`crate::h1`]) or hyper's HTTP/2 one — or the bytes a stage
//! already read to inspect them (the Odoo guard), forwarded unchanged.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Error type of a client body.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A client's request body.
pub enum ClientBody {
    /// Read from an HTTP/1.1 connection.
    H1(crate::h1::ConnBody),
    /// An HTTP/2 stream's body.
    H2(hyper::body::Incoming),
    /// A body already read by the proxy (None once sent).
    Read(Option<Bytes>),
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            ClientBody::H1(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            ClientBody::H2(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            ClientBody::Read(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ClientBody::H1(b) => b.is_end_stream(),
            ClientBody::H2(b) => b.is_end_stream(),
            ClientBody::Read(b) => b.as_ref().is_none_or(Bytes::is_empty),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ClientBody::H1(b) => b.size_hint(),
            ClientBody::H2(b) => b.size_hint(),
            ClientBody::Read(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}
