//! switchyard's own HTTP/1.1 server connection: one task per connection reads each request
//! head, holds it to the strict rules of [`switchyard_core::http1`] (refusals are written as
//! problem+json here and close the connection), hands the request to the pipeline with a body
//! that reads from the same connection, and writes the response back — keep-alive,
//! pipelining, `Expect: 100-continue`, HEAD, close-delimited HTTP/1.0 answers and `101`
//! upgrades (spliced to the upstream byte for byte) included. It replaced hyper's HTTP/1
//! server plus a strict gate in front of it: one reading of each head instead of two, no
//! hand-off between a validating wrapper and hyper around upgrades, and the refusals written
//! where the rules are checked (docs/architecture.md says why). HTTP/2 stays with hyper.

mod body;
mod head;
mod write;

pub use body::ConnBody;

use crate::ctx::ConnInfo;
use crate::pipeline::{self, Worker};
use crate::rescue::raw_response;
use crate::upstream::UpstreamUpgrade;
use bytes::BytesMut;
use head::HeadRead;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

/// Limits a connection's requests are held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Head limits (431/414).
    pub head: switchyard_core::http1::HeadLimits,
    /// Time to receive a head (408), also the first one of a connection.
    pub header_timeout: std::time::Duration,
    /// Time a keep-alive connection may sit idle between requests.
    pub idle_timeout: std::time::Duration,
}

/// Called once for each request refused before the pipeline (for metrics and the access log).
pub type OnReject = Arc<dyn Fn(&crate::rescue::Reject, &str) + Send + Sync>;

/// A connection's byte stream, whatever carries it (TCP, TLS).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// The connection and the bytes read from it but not yet consumed. Shared by the connection
/// loop and the request body, which never use it at the same time (a request body is read
/// while the pipeline runs; the response is written after it returns).
pub struct Wire {
    io: Option<Box<dyn Stream>>,
    buf: BytesMut,
    body: body::Framing,
    /// The request body's framing broke: the connection ends after the (400) answer.
    broken: bool,
    /// Bytes of `100 Continue` written so far, when one is owed before the body is read.
    continue_owed: Option<usize>,
    send_timeout: std::time::Duration,
}

type SharedWire = Arc<Mutex<Wire>>;

fn lock(w: &SharedWire) -> std::sync::MutexGuard<'_, Wire> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves HTTP/1.1 on `io` until the client closes, a refusal, an idle timeout or shutdown.
pub async fn serve(
    io: Box<dyn Stream>,
    w: Arc<Worker>,
    info: Arc<ConnInfo>,
    limits: Limits,
    on_reject: OnReject,
    mut shutdown: watch::Receiver<bool>,
) {
    let wire: SharedWire = Arc::new(Mutex::new(Wire {
        io: Some(io),
        buf: BytesMut::with_capacity(16 * 1024),
        body: body::Framing::Done,
        broken: false,
        continue_owed: None,
        send_timeout: limits.idle_timeout,
    }));
    let mut reader = head::Reader::new(limits);
    loop {
        let head = match reader.read(&wire, &mut shutdown).await {
            HeadRead::Head(h) => h,
            HeadRead::Closed => break,
            HeadRead::Refused(reject) => {
                let id = crate::ctx::new_request_id();
                on_reject(&reject, &id);
                let _ = write::raw(&wire, &raw_response(&reject, &id)).await;
                break;
            }
        };
        let (is_head, http10, client_keep_alive) = (head.is_head, head.http10, head.keep_alive);
        {
            let mut g = lock(&wire);
            g.body = head.framing;
            // `100 Continue` goes out only when the pipeline starts reading the body, so a
            // request refused before that never uploads it.
            g.continue_owed = head.expect_continue.then_some(0);
        }
        let req = http::Request::from_parts(
            head.parts,
            crate::body::ClientBody::H1(ConnBody::new(wire.clone())),
        );
        let Ok(mut resp) = pipeline::handle(w.clone(), info.clone(), req).await;
        if resp.status() == http::StatusCode::SWITCHING_PROTOCOLS {
            if let Some(up) = resp.extensions_mut().remove::<UpstreamUpgrade>() {
                splice(&wire, resp, up).await;
            }
            break;
        }
        let keep = client_keep_alive && !*shutdown.borrow() && body::drain(&wire);
        match write::response(&wire, resp, is_head, http10, keep).await {
            Ok(true) => continue,
            _ => break,
        }
    }
    let (io, limit) = {
        let mut g = lock(&wire);
        (g.io.take(), g.send_timeout)
    };
    if let Some(io) = io {
        close(io, limit).await;
    }
}

/// Closes gracefully: flush and shut down the sending side (bounded), then read and discard
/// what the client may still be sending for a moment, so the kernel does not answer it with a
/// reset that would destroy the answer (a 413 while an upload is in flight).
async fn close(mut io: Box<dyn Stream>, limit: std::time::Duration) {
    use tokio::io::AsyncReadExt;
    if tokio::time::timeout(limit, io.shutdown()).await.is_err() {
        return;
    }
    let linger = async {
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < 64 * 1024 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), linger).await;
}

/// Writes the `101` head, then joins the client and the upstream connections.
async fn splice(
    wire: &SharedWire,
    resp: http::Response<crate::forward::RespBody>,
    up: UpstreamUpgrade,
) {
    let Some((mut upstream, early)) = up.take() else {
        return;
    };
    if write::response(wire, resp, true, false, true)
        .await
        .is_err()
    {
        return;
    }
    let (io, leftover) = {
        let mut g = lock(wire);
        (g.io.take(), g.buf.split().freeze())
    };
    let Some(mut client) = io else { return };
    if !leftover.is_empty() && upstream.write_all(&leftover).await.is_err() {
        return;
    }
    if !early.is_empty() && client.write_all(&early).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
