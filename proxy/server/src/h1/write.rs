//! Writing responses: the status line and fields in one buffer, framed by Content-Length when
//! the body's length is known, chunked otherwise (close-delimited for HTTP/1.0 clients),
//! nothing for HEAD/204/304; the first body frame rides in the same write as the head.

use super::{lock, SharedWire};
use crate::forward::RespBody;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;

fn poll_write_once(
    wire: &SharedWire,
    cx: &mut Context<'_>,
    bytes: &[u8],
) -> Poll<io::Result<usize>> {
    let mut g = lock(wire);
    match g.io.as_mut() {
        Some(io) => match Pin::new(io).poll_write(cx, bytes) {
            Poll::Ready(Ok(0)) => Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero))),
            other => other,
        },
        None => Poll::Ready(Err(io::Error::from(io::ErrorKind::NotConnected))),
    }
}

/// Writes all of `bytes`. A client that stops reading gets `idle_timeout` to drain what is
/// pending, then the connection is dropped; the timer is set only when the socket pushes back.
pub async fn raw(wire: &SharedWire, bytes: &[u8]) -> io::Result<()> {
    let mut at = 0;
    {
        let mut quick = Context::from_waker(Waker::noop());
        while at < bytes.len() {
            match poll_write_once(wire, &mut quick, &bytes[at..]) {
                Poll::Ready(n) => at += n?,
                Poll::Pending => break,
            }
        }
    }
    if at == bytes.len() {
        return Ok(());
    }
    let limit = lock(wire).send_timeout;
    let rest = async {
        while at < bytes.len() {
            at += std::future::poll_fn(|cx| poll_write_once(wire, cx, &bytes[at..])).await?;
        }
        Ok::<(), io::Error>(())
    };
    tokio::time::timeout(limit, rest)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))?
}

/// Flushes what the stream still holds (TLS records queued in the session), bounded by the
/// send timeout; a no-op for plain TCP.
pub async fn flush(wire: &SharedWire) -> io::Result<()> {
    let limit = lock(wire).send_timeout;
    let flushing = std::future::poll_fn(|cx| {
        let mut g = lock(wire);
        match g.io.as_mut() {
            Some(io) => Pin::new(io).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    });
    tokio::time::timeout(limit, flushing)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading"))?
}

enum Out {
    None,
    Length,
    Chunked,
    UntilClose,
}

/// Writes a response; returns whether the connection stays open for the next request.
pub async fn response(
    wire: &SharedWire,
    resp: Response<RespBody>,
    head_only: bool,
    http10: bool,
    keep: bool,
) -> io::Result<bool> {
    let (parts, mut body) = resp.into_parts();
    let status = parts.status;
    let no_body = head_only
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let mut keep = keep
        && !parts
            .headers
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let out = match body.size_hint().exact() {
        _ if no_body => Out::None,
        Some(_) => Out::Length,
        None if http10 => {
            keep = false;
            Out::UntilClose
        }
        None => Out::Chunked,
    };
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(status.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        let framing = name == CONTENT_LENGTH || name == TRANSFER_ENCODING;
        if name == CONNECTION && status != StatusCode::SWITCHING_PROTOCOLS
            || framing && !matches!(out, Out::None)
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        head.extend_from_slice(b"date: ");
        date(&mut head);
        head.extend_from_slice(b"\r\n");
    }
    match out {
        Out::Length => {
            head.extend_from_slice(b"content-length: ");
            push_decimal(&mut head, body.size_hint().exact().unwrap_or(0));
            head.extend_from_slice(b"\r\n");
        }
        Out::Chunked => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Out::None | Out::UntilClose => {}
    }
    if !keep && status != StatusCode::SWITCHING_PROTOCOLS {
        head.extend_from_slice(b"connection: close\r\n");
    } else if keep && http10 {
        head.extend_from_slice(b"connection: keep-alive\r\n");
    }
    head.extend_from_slice(b"\r\n");
    if matches!(out, Out::None) {
        raw(wire, &head).await?;
        flush(wire).await?;
        return Ok(keep);
    }
    // The first frame joins the head in one write (most bodies are one frame).
    let mut pending = head;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| io::Error::other(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        // The head rides with the first frame; after that each frame goes out as it comes
        // (a streaming upstream is streamed, not batched).
        append(&mut pending, &out, &data);
        raw(wire, &pending).await?;
        pending.clear();
    }
    if matches!(out, Out::Chunked) {
        pending.extend_from_slice(b"0\r\n\r\n");
    }
    if !pending.is_empty() {
        raw(wire, &pending).await?;
    }
    flush(wire).await?;
    Ok(keep)
}

/// Appends `n` in decimal without going through `fmt`.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn append(buf: &mut Vec<u8>, out: &Out, data: &Bytes) {
    if matches!(out, Out::Chunked) {
        buf.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        buf.extend_from_slice(data);
        buf.extend_from_slice(b"\r\n");
    } else {
        buf.extend_from_slice(data);
    }
}

thread_local! {
    static DATE_CACHE: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((0, String::new())) };
}

/// Appends the current IMF-fixdate, formatted at most once a second per thread.
pub fn date(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs || c.1.is_empty() {
            *c = (secs, httpdate(now));
        }
        out.extend_from_slice(c.1.as_bytes());
    });
}

fn httpdate(t: std::time::SystemTime) -> String {
    // humantime formats RFC 3339; build the IMF-fixdate HTTP wants from its parts.
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let rfc = humantime::format_rfc3339_seconds(t).to_string();
    let (y, mo, d) = (&rfc[0..4], &rfc[5..7], &rfc[8..10]);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][mo.parse::<usize>().unwrap_or(1).saturating_sub(1) % 12];
    format!("{weekday}, {d} {month} {y} {h:02}:{m:02}:{s:02} GMT")
}
