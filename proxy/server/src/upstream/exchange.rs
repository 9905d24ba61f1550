//! One request/response exchange with an endpoint: take an idle connection (or connect within
//! the connect timeout), write the head in one buffer and stream the body (chunk-encoding it
//! when its length is unknown), read the response head (skipping 1xx interim answers other
//! than 101), and return the response with a streaming [`UpBody`]. A reused connection that
//! turns out closed before anything was sent is replaced by a fresh one, once.

use super::body::{Chunk, Framing, UpBody, UpstreamUpgrade};
use super::{connect, Conn, IdleConns};
use bytes::{Buf, Bytes};
use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH};
use http::{Method, Request, Response, StatusCode, Version};
use http_body::Body;
use http_body_util::BodyExt;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::hygiene::HOP_BY_HOP;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why an exchange failed.
#[derive(Debug)]
pub enum Failure {
    /// No TCP connection could be made (safe to try elsewhere).
    Connect(io::Error),
    /// The client's request body failed (too large: `limit` is true).
    ClientBody { limit: bool, message: String },
    /// The upstream broke the exchange.
    Upstream(String),
    /// No response head within the request timeout.
    Timeout,
}

const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Sends `req` (origin-form URI, headers final) to `authority`; the response head must come
/// within `timeout` (else [`Failure::Timeout`]).
pub async fn send<B>(
    authority: &str,
    connect_timeout: Duration,
    timeout: Duration,
    idle: &Arc<IdleConns>,
    worker: usize,
    req: Request<B>,
) -> Result<Response<UpBody>, Failure>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let (parts, mut body) = req.into_parts();
    let was_empty = body.is_end_stream();
    let chunked = !was_empty && !parts.headers.contains_key(CONTENT_LENGTH);
    let head = encode_head(&parts, was_empty, chunked);
    // A kept-alive connection can turn out closed by the upstream; then one fresh connection
    // is tried, and only while nothing of the request can have been processed.
    let mut retried = false;
    loop {
        let pooled = if retried { None } else { idle.take(worker) };
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(c) => c,
            None => connect(authority, connect_timeout)
                .await
                .map_err(Failure::Connect)?,
        };
        // The connection's own timer, set once and moved only when it fires early: no timer
        // is registered and removed per request.
        let mut timer = conn
            .timer
            .take()
            .unwrap_or_else(|| Box::pin(tokio::time::sleep_until(deadline)));
        let outcome = {
            let exchange = exchange(&mut conn, &head, &mut body, chunked, &parts.method);
            tokio::pin!(exchange);
            loop {
                tokio::select! {
                    biased;
                    r = &mut exchange => break Some(r),
                    _ = timer.as_mut() => {
                        if tokio::time::Instant::now() >= deadline {
                            break None;
                        }
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        conn.timer = Some(timer);
        match outcome {
            None => return Err(Failure::Timeout),
            Some(Ok(resp)) => return Ok(finish(resp, conn, idle.clone(), worker)),
            Some(Err(Step::WriteFailed(_))) if reused && !retried => retried = true,
            Some(Err(Step::WriteFailed(e))) => {
                return Err(Failure::Upstream(format!("write: {e}")))
            }
            Some(Err(Step::Body(f))) => return Err(f),
            Some(Err(Step::Read(ReadErr::ClosedEarly)))
                if reused && !retried && was_empty && parts.method.is_idempotent() =>
            {
                retried = true;
            }
            Some(Err(Step::Read(ReadErr::ClosedEarly))) => {
                return Err(Failure::Upstream(
                    "connection closed before a response".into(),
                ))
            }
            Some(Err(Step::Read(ReadErr::Other(m)))) => return Err(Failure::Upstream(m)),
        }
    }
}

enum Step {
    WriteFailed(io::Error),
    Body(Failure),
    Read(ReadErr),
}

/// One try on one connection: head, body, response head.
async fn exchange<B>(
    conn: &mut Conn,
    head: &[u8],
    body: &mut B,
    chunked: bool,
    method: &Method,
) -> Result<Head, Step>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    conn.io.write_all(head).await.map_err(Step::WriteFailed)?;
    write_body(conn, body, chunked).await.map_err(Step::Body)?;
    read_head(conn, method).await.map_err(Step::Read)
}

fn encode_head(parts: &http::request::Parts, empty: bool, chunked: bool) -> Vec<u8> {
    let mut h = Vec::with_capacity(512);
    h.extend_from_slice(parts.method.as_str().as_bytes());
    h.push(b' ');
    h.extend_from_slice(
        parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .as_bytes(),
    );
    h.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &parts.headers {
        h.extend_from_slice(name.as_str().as_bytes());
        h.extend_from_slice(b": ");
        h.extend_from_slice(value.as_bytes());
        h.extend_from_slice(b"\r\n");
    }
    if chunked {
        h.extend_from_slice(b"transfer-encoding: chunked\r\n");
    } else if empty
        && !parts.headers.contains_key(CONTENT_LENGTH)
        && matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
    {
        h.extend_from_slice(b"content-length: 0\r\n");
    }
    h.extend_from_slice(b"\r\n");
    h
}

async fn write_body<B>(conn: &mut Conn, body: &mut B, chunked: bool) -> Result<(), Failure>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if body.is_end_stream() {
        return Ok(());
    }
    let up = |e: io::Error| Failure::Upstream(format!("write: {e}"));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: Box<dyn std::error::Error + Send + Sync> = e.into();
            Failure::ClientBody {
                limit: e.is::<http_body_util::LengthLimitError>(),
                message: e.to_string(),
            }
        })?;
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if chunked {
            conn.io
                .write_all(format!("{:x}\r\n", data.len()).as_bytes())
                .await
                .map_err(up)?;
        }
        while data.has_remaining() {
            let n = conn.io.write(&data).await.map_err(up)?;
            data.advance(n);
        }
        if chunked {
            conn.io.write_all(b"\r\n").await.map_err(up)?;
        }
    }
    if chunked {
        conn.io.write_all(b"0\r\n\r\n").await.map_err(up)?;
    }
    Ok(())
}

enum ReadErr {
    ClosedEarly,
    Other(String),
}

struct Head {
    status: StatusCode,
    headers: http::HeaderMap,
    framing: Framing,
    keep_alive: bool,
}

async fn read_head(conn: &mut Conn, method: &Method) -> Result<Head, ReadErr> {
    let mut got_any = false;
    loop {
        if let Some(head) = parse_head(conn, method)? {
            if head.status.is_informational() && head.status != StatusCode::SWITCHING_PROTOCOLS {
                continue; // 100 Continue, 103 Early Hints: not forwarded
            }
            return Ok(head);
        }
        if conn.buf.len() > MAX_RESPONSE_HEAD {
            return Err(ReadErr::Other("response head too large".into()));
        }
        conn.buf.reserve(8 * 1024);
        let n = match conn.io.read_buf(&mut conn.buf).await {
            Ok(n) => n,
            Err(e) if !got_any && e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(ReadErr::Other(format!("read: {e}"))),
        };
        if n == 0 {
            return Err(if got_any {
                ReadErr::Other("connection closed mid-head".into())
            } else {
                ReadErr::ClosedEarly
            });
        }
        got_any = true;
    }
}

fn parse_head(conn: &mut Conn, method: &Method) -> Result<Option<Head>, ReadErr> {
    // Uninitialised slots: zeroing them per response showed up in the profile.
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
    let mut r = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut r, &conn.buf, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ReadErr::Other(format!("invalid response head: {e}"))),
    };
    let status = StatusCode::from_u16(r.code.unwrap_or(0))
        .map_err(|_| ReadErr::Other("invalid status".into()))?;
    let http10 = r.version == Some(0);
    let (mut keep_alive, mut listed, mut chunked, mut length) = (!http10, Vec::new(), false, None);
    let mut headers = http::HeaderMap::with_capacity(r.headers.len() + 2);
    // Values are sliced out of the head's bytes afterwards (no copy per value).
    let base = conn.buf.as_ptr() as usize;
    let mut values: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(r.headers.len());
    for h in r.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(h.name.as_bytes()) else {
            continue;
        };
        if name == CONNECTION {
            for t in h.value.split(|&b| b == b',') {
                let t = t.trim_ascii();
                if t.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if t.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                } else if let Ok(n) = HeaderName::from_bytes(t) {
                    listed.push(n);
                }
            }
        } else if name == http::header::TRANSFER_ENCODING {
            // Only plain `chunked` can be relayed faithfully (a transfer coding such as gzip
            // would reach the client undeclared): anything else is a failed exchange.
            if !h.value.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Err(ReadErr::Other(
                    "unsupported Transfer-Encoding in the response".into(),
                ));
            }
            chunked = true;
        } else if name == CONTENT_LENGTH {
            // Ambiguous framing from an upstream would desynchronise the client connection.
            let v = h.value.trim_ascii();
            let n = (!v.is_empty() && v.len() <= 18 && v.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| ReadErr::Other("invalid Content-Length in the response".into()))?;
            if length.is_some_and(|l| l != n) {
                return Err(ReadErr::Other(
                    "conflicting Content-Length in the response".into(),
                ));
            }
            if length.is_some() {
                continue;
            }
            length = Some(n);
        }
        let switching = status == StatusCode::SWITCHING_PROTOCOLS;
        if HOP_BY_HOP.contains(&name.as_str())
            && !(switching && (name == CONNECTION || name == http::header::UPGRADE))
        {
            continue;
        }
        values.push((name, h.value.as_ptr() as usize - base, h.value.len()));
    }
    let head = conn.buf.split_to(len).freeze();
    for (name, at, n) in values {
        // httparse accepted these bytes as a field value (visible ASCII, obs-text, SP, HTAB),
        // which is exactly what a HeaderValue may hold.
        if let Ok(v) = HeaderValue::from_maybe_shared(head.slice(at..at + n)) {
            headers.append(name, v);
        }
    }
    for n in listed {
        if n != http::header::UPGRADE {
            headers.remove(n);
        }
    }

    let no_body = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if chunked {
        // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3); the client gets our
        // framing. Both at once is a smell: never reuse that connection.
        if length.is_some() {
            keep_alive = false;
        }
        headers.remove(CONTENT_LENGTH);
        length = None;
    }
    let framing = match (no_body, chunked, length) {
        (true, _, _) => Framing::Done,
        (false, true, _) => Framing::Chunked(Chunk::Size),
        (false, false, Some(n)) => Framing::Len(n),
        (false, false, None) => {
            keep_alive = false;
            Framing::Close
        }
    };
    Ok(Some(Head {
        status,
        headers,
        framing,
        keep_alive,
    }))
}

fn finish(head: Head, conn: Conn, idle: Arc<IdleConns>, worker: usize) -> Response<UpBody> {
    let mut resp = Response::new(UpBody::empty());
    *resp.status_mut() = head.status;
    *resp.version_mut() = Version::HTTP_11;
    *resp.headers_mut() = head.headers;
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        resp.extensions_mut().insert(UpstreamUpgrade::new(conn));
        return resp;
    }
    *resp.body_mut() = UpBody::new(conn, head.framing, head.keep_alive, (idle, worker));
    resp
}
