//! Reading one request head: wait for it within the idle/head timeouts (one timer per
//! connection, pushed back only when it fires after progress), find its end incrementally,
//! validate it strictly, and turn it into `http::request::Parts` whose URI and header values
//! are slices of the head's bytes (no copy per field).

use super::Limits;
use super::{lock, SharedWire};
use crate::rescue::Reject;
use bytes::{Buf, Bytes};
use http::header::{HeaderName, HeaderValue, CONNECTION, EXPECT};
use http::{Method, Uri, Version};
use std::pin::Pin;
use std::task::Poll;
use switchyard_core::http1::{self, Framing, HeadError};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// A validated request head.
pub struct Head {
    pub parts: http::request::Parts,
    pub framing: super::body::Framing,
    pub keep_alive: bool,
    pub http10: bool,
    pub is_head: bool,
    pub expect_continue: bool,
}

/// What reading a head gave.
pub enum HeadRead {
    Head(Box<Head>),
    /// The client closed, went idle too long, or the proxy is shutting down.
    Closed,
    /// A head that breaks a rule: answer and close.
    Refused(Reject),
}

/// Per-connection head reader: timer and scan state.
pub struct Reader {
    limits: Limits,
    timer: Option<Pin<Box<Sleep>>>,
    activity: u64,
    armed_at: u64,
    head_mark: Option<u64>,
    served: u64,
    scanned: usize,
    blank_lines: u8,
    /// The last read started a new head that is not complete yet.
    fresh_head: bool,
}

enum Wait {
    Read(usize),
    Rearmed,
    Timer,
    Shutdown,
}

impl Reader {
    pub fn new(limits: Limits) -> Self {
        Reader {
            limits,
            timer: None,
            activity: 0,
            armed_at: 0,
            head_mark: None,
            served: 0,
            scanned: 0,
            blank_lines: 0,
            fresh_head: false,
        }
    }

    pub async fn read(
        &mut self,
        wire: &SharedWire,
        shutdown: &mut watch::Receiver<bool>,
    ) -> HeadRead {
        loop {
            match self.parse(wire) {
                Ok(Some(h)) => {
                    self.fresh_head = false;
                    return HeadRead::Head(h);
                }
                Ok(None) => {}
                Err(e) => return HeadRead::Refused(e),
            }
            if std::mem::take(&mut self.fresh_head) {
                // A head began and did not arrive whole: it gets one `header_timeout` from
                // now (the common case, a head in one read, never touches the timer).
                if let Some(t) = self.timer.as_mut() {
                    t.as_mut()
                        .reset(Instant::now() + self.limits.header_timeout);
                    self.head_mark = Some(self.served);
                    self.armed_at = self.activity;
                }
            }
            let empty = lock(wire).buf.is_empty();
            let partial = !empty || self.served == 0;
            if *shutdown.borrow() && !partial {
                return HeadRead::Closed;
            }
            match self.wait(wire, shutdown, partial).await {
                Wait::Read(0) => return HeadRead::Closed,
                Wait::Read(_) => {
                    self.activity += 1;
                    self.fresh_head = empty;
                }
                Wait::Rearmed => {}
                Wait::Shutdown if !partial => return HeadRead::Closed,
                Wait::Shutdown => {}
                Wait::Timer => {
                    let has_bytes = !lock(wire).buf.is_empty();
                    return if has_bytes {
                        HeadRead::Refused(Reject::HeadTimeout)
                    } else {
                        HeadRead::Closed
                    };
                }
            }
        }
    }

    /// Waits for bytes, the deadline, or shutdown.
    async fn wait(
        &mut self,
        wire: &SharedWire,
        shutdown: &mut watch::Receiver<bool>,
        partial: bool,
    ) -> Wait {
        let wait = if partial {
            self.limits.header_timeout
        } else {
            self.limits.idle_timeout
        };
        if self.timer.is_none() {
            self.timer = Some(Box::pin(tokio::time::sleep(wait)));
            self.armed_at = self.activity;
        }
        let read = std::future::poll_fn(|cx| {
            let mut g = lock(wire);
            let g = &mut *g;
            let Some(io) = g.io.as_mut() else {
                return Poll::Ready(Ok(0));
            };
            if g.buf.capacity() - g.buf.len() < 4096 {
                g.buf.reserve(16 * 1024);
            }
            tokio_util::io::poll_read_buf(Pin::new(io), cx, &mut g.buf)
        });
        let Some(timer) = self.timer.as_mut() else {
            return Wait::Timer;
        };
        tokio::select! {
            biased;
            r = read => Wait::Read(r.unwrap_or(0)),
            _ = timer.as_mut() => {
                // Fired: a deadline only if nothing moved for a whole period.
                if partial {
                    if self.head_mark == Some(self.served) {
                        return Wait::Timer;
                    }
                    self.head_mark = Some(self.served);
                } else if self.armed_at == self.activity {
                    return Wait::Timer;
                }
                timer.as_mut().reset(Instant::now() + wait);
                self.armed_at = self.activity;
                Wait::Rearmed
            }
            _ = shutdown.changed() => Wait::Shutdown,
        }
    }

    /// Finds, validates and parses a complete head in the buffer.
    fn parse(&mut self, wire: &SharedWire) -> Result<Option<Box<Head>>, Reject> {
        let mut g = lock(wire);
        let blank = http1::leading_blank_lines(&g.buf);
        if blank > 0 {
            self.blank_lines = self
                .blank_lines
                .saturating_add(u8::try_from(blank / 2).unwrap_or(u8::MAX));
            if self.blank_lines > 2 {
                return Err(Reject::Head(HeadError::Malformed(
                    "empty lines instead of a request",
                )));
            }
            g.buf.advance(blank);
        }
        let from = self.scanned.saturating_sub(3);
        let Some(end) = http1::find_head_end(&g.buf[from.min(g.buf.len())..]).map(|e| e + from)
        else {
            self.scanned = g.buf.len();
            if g.buf.len() > self.limits.head.max_head {
                return Err(Reject::Head(HeadError::TooLarge));
            }
            if memchr::memchr(b'\n', &g.buf).is_none()
                && g.buf.len() > self.limits.head.max_uri + 64
            {
                return Err(Reject::Head(HeadError::UriTooLong));
            }
            return Ok(None);
        };
        self.scanned = 0;
        self.blank_lines = 0;
        let checked = http1::validate(&g.buf[..end], &self.limits.head).map_err(Reject::Head)?;
        let bytes = g.buf.split_to(end).freeze();
        drop(g);
        self.served += 1;
        to_parts(bytes, checked).map(Some)
    }
}

fn malformed(m: &'static str) -> Reject {
    Reject::Head(HeadError::Malformed(m))
}

fn to_parts(bytes: Bytes, checked: http1::Head) -> Result<Box<Head>, Reject> {
    // Uninitialised slots: zeroing 100 of them per request showed up in the profile.
    let mut slots = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 100];
    let mut r = httparse::Request::new(&mut []);
    match r.parse_with_uninit_headers(&bytes, &mut slots) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(malformed("malformed request head")),
    }
    let base = bytes.as_ptr() as usize;
    let slice =
        |s: &[u8]| bytes.slice(s.as_ptr() as usize - base..s.as_ptr() as usize - base + s.len());
    let method = Method::from_bytes(r.method.unwrap_or("").as_bytes())
        .map_err(|_| malformed("invalid method"))?;
    let target = slice(r.path.unwrap_or("").as_bytes());
    let uri = Uri::from_maybe_shared(target).map_err(|_| malformed("invalid request-target"))?;
    let http10 = r.version == Some(0);
    let mut req = http::Request::new(());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.version_mut() = if http10 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let (mut close, mut keep, mut expect_continue) = (false, false, false);
    // Room for the fields the trust stage sets, so the map does not grow mid-pipeline.
    *req.headers_mut() = http::HeaderMap::with_capacity(r.headers.len() + 8);
    let headers = req.headers_mut();
    for h in r.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| malformed("invalid header field name"))?;
        if name == CONNECTION {
            for t in h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                close |= t.eq_ignore_ascii_case(b"close");
                keep |= t.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name == EXPECT && h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue") {
            expect_continue = true;
        }
        let value = HeaderValue::from_maybe_shared(slice(h.value.trim_ascii()))
            .map_err(|_| malformed("invalid header field value"))?;
        headers.append(name, value);
    }
    let keep_alive = !close && (!http10 || keep);
    let is_head = req.method() == Method::HEAD;
    let framing = match checked.framing {
        Framing::None => super::body::Framing::Done,
        Framing::Length(n) => super::body::Framing::Length(n),
        Framing::Chunked => super::body::Framing::Chunked(http1::ChunkedScanner::default()),
    };
    let (parts, ()) = req.into_parts();
    Ok(Box::new(Head {
        parts,
        framing,
        keep_alive,
        http10,
        is_head,
        // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client.
        expect_continue: expect_continue && !http10 && !matches!(checked.framing, Framing::None),
    }))
}
