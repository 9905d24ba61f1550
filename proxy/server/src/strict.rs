//! The strict HTTP/1 gate: an I/O wrapper between the socket and hyper that hands hyper only
//! request heads that passed [`switchyard_core::http1::validate`], follows each body's framing
//! to find the next head, and enforces the head/idle timeouts. On a refused head it gives
//! hyper end-of-file (hyper finishes any response in progress) and writes the problem+json
//! answer itself just before the connection is shut down, so nothing ambiguous ever reaches
//! the HTTP engine or an upstream. After an upgrade request the bytes pass through untouched.

use crate::rescue::{raw_response, Reject};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use switchyard_core::http1::{self, ChunkedScanner, Framing, HeadError, HeadLimits, H2_PREFACE};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Limits the gate enforces.
#[derive(Debug, Clone, Copy)]
pub struct StrictLimits {
    /// Head limits.
    pub head: HeadLimits,
    /// Time to receive a head once its first byte arrived (or the first head of a connection).
    pub header_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
}

/// Called once for each request the gate refuses (for metrics and the access log).
pub type OnReject = Arc<dyn Fn(&Reject, &str) + Send + Sync>;

enum State {
    Start,
    Head,
    Length(u64, bool),
    Chunked(ChunkedScanner, bool),
    /// An upgrade request was handed over: hold further bytes until the response shows
    /// whether the protocol switched (101: pass through) or not (keep checking heads).
    AwaitUpgrade,
    Passthrough,
}

/// The gate around a connection's I/O.
pub struct StrictIo<S> {
    inner: S,
    data: Vec<u8>,
    start: usize,
    end: usize,
    ready: usize,
    state: State,
    limits: StrictLimits,
    eof: bool,
    reject_out: Option<(Vec<u8>, usize)>,
    timer: Option<Pin<Box<Sleep>>>,
    /// Bytes-read events so far, and their count when the timer was last set: the timer is
    /// set once and pushed back only when it fires after activity (no clock read per request).
    activity: u64,
    armed_at: u64,
    /// The head count seen incomplete when the timer last fired: a head still incomplete at
    /// the next firing has had at least a whole `header_timeout` (408).
    head_mark: Option<u64>,
    /// Bytes of the current head already searched for its end, and blank lines skipped.
    scanned: usize,
    blank_lines: u8,
    read_waker: Option<std::task::Waker>,
    served: u64,
    on_reject: OnReject,
}

const CHUNK: usize = 16 * 1024;

impl<S: AsyncRead + AsyncWrite + Unpin> StrictIo<S> {
    /// Wraps a fresh connection.
    pub fn new(inner: S, limits: StrictLimits, on_reject: OnReject) -> Self {
        StrictIo {
            inner,
            data: vec![0; CHUNK],
            start: 0,
            end: 0,
            ready: 0,
            state: State::Start,
            limits,
            eof: false,
            reject_out: None,
            timer: None,
            activity: 0,
            armed_at: 0,
            head_mark: None,
            scanned: 0,
            blank_lines: 0,
            read_waker: None,
            served: 0,
            on_reject,
        }
    }

    /// A gate that checks nothing (HTTP/2 negotiated by ALPN).
    pub fn passthrough(inner: S, limits: StrictLimits, on_reject: OnReject) -> Self {
        let mut s = Self::new(inner, limits, on_reject);
        s.state = State::Passthrough;
        s
    }

    /// Reads until the protocol is known: true for prior-knowledge HTTP/2 (h2c).
    pub async fn detect_h2(&mut self) -> io::Result<bool> {
        std::future::poll_fn(|cx| self.poll_detect(cx)).await
    }

    fn poll_detect(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        loop {
            let have = &self.data[self.start..self.end];
            let n = have.len().min(H2_PREFACE.len());
            if have[..n] != H2_PREFACE[..n] {
                self.state = State::Head;
                return Poll::Ready(Ok(false));
            }
            if n == H2_PREFACE.len() {
                self.state = State::Passthrough;
                return Poll::Ready(Ok(true));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    self.state = State::Head;
                    return Poll::Ready(Ok(false));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    ready!(self.poll_timer(cx));
                    self.eof = true;
                    return Poll::Ready(Ok(false));
                }
            }
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` is end-of-file.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let max = self.limits.head.max_head + 2 * CHUNK;
                let grow = (self.data.len() * 2).min(max.max(self.data.len() + CHUNK));
                self.data.resize(grow, 0);
            }
        }
        let mut rb = ReadBuf::new(&mut self.data[self.end..]);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        self.end += n;
        if n > 0 {
            self.activity += 1;
        }
        Poll::Ready(Ok(n))
    }

    /// Polls the head/idle deadline without reading the clock per request: the timer is set
    /// once and, when it fires, pushed back if the connection made progress. Ready when an
    /// idle connection saw no byte for a whole `idle_timeout`, or when the same head is still
    /// incomplete at two firings (so a head gets between one and two `header_timeout`s,
    /// however slowly its bytes drip).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let partial = self.end > self.start || self.served == 0;
            let wait = if partial {
                self.limits.header_timeout
            } else {
                self.limits.idle_timeout
            };
            let Some(t) = &mut self.timer else {
                self.timer = Some(Box::pin(tokio::time::sleep(wait)));
                self.armed_at = self.activity;
                continue;
            };
            ready!(t.as_mut().poll(cx));
            if partial {
                if self.head_mark == Some(self.served) {
                    return Poll::Ready(());
                }
                self.head_mark = Some(self.served);
            } else if self.armed_at == self.activity {
                return Poll::Ready(());
            }
            t.as_mut().reset(Instant::now() + wait);
            self.armed_at = self.activity;
        }
    }

    /// Decides an upgrade from the first bytes of its response.
    fn saw_response(&mut self, first: &[u8]) {
        if matches!(self.state, State::AwaitUpgrade) && !first.is_empty() {
            if first.starts_with(b"HTTP/1.1 101") {
                self.state = State::Passthrough;
            } else if !first.starts_with(b"HTTP/1.1 100 ") {
                self.state = State::Head;
            } else {
                return;
            }
            if let Some(w) = self.read_waker.take() {
                w.wake();
            }
        }
    }

    fn refuse(&mut self, reject: Reject, answer: bool) {
        let id = crate::ctx::new_request_id();
        (self.on_reject)(&reject, &id);
        if answer {
            self.reject_out = Some((raw_response(&reject, &id), 0));
        }
        self.eof = true;
    }

    /// Advances the framing state over buffered bytes; returns true if it made progress.
    fn process(&mut self) -> bool {
        let avail = self.end - self.start - self.ready;
        if avail == 0 {
            return false;
        }
        let at = self.start + self.ready;
        match &mut self.state {
            State::Start | State::Head => {
                let buf = &self.data[at..self.end];
                let blank = http1::leading_blank_lines(buf);
                if blank > 0 {
                    // RFC 9112 §2.2: ignore an empty line before a request line; a stream of
                    // them is not a request.
                    self.blank_lines = self.blank_lines.saturating_add((blank / 2) as u8);
                    if self.blank_lines > 2 {
                        self.refuse(
                            Reject::Head(HeadError::Malformed("empty lines instead of a request")),
                            true,
                        );
                        return false;
                    }
                    self.ready += blank;
                    return true;
                }
                let from = self.scanned.saturating_sub(3);
                let found = http1::find_head_end(&buf[from..]).map(|e| e + from);
                self.scanned = buf.len();
                let Some(end) = found else {
                    if buf.len() > self.limits.head.max_head {
                        self.refuse(Reject::Head(HeadError::TooLarge), true);
                    } else if memchr::memchr(b'\n', buf).is_none()
                        && buf.len() > self.limits.head.max_uri + 64
                    {
                        self.refuse(Reject::Head(HeadError::UriTooLong), true);
                    }
                    return false;
                };
                self.scanned = 0;
                self.blank_lines = 0;
                match http1::validate(&buf[..end], &self.limits.head) {
                    Ok(head) => {
                        self.ready += end;
                        self.served += 1;
                        self.state = match head.framing {
                            Framing::None if head.upgrade => State::AwaitUpgrade,
                            Framing::None => State::Head,
                            Framing::Length(n) => State::Length(n, head.upgrade),
                            Framing::Chunked => {
                                State::Chunked(ChunkedScanner::default(), head.upgrade)
                            }
                        };
                        true
                    }
                    Err(e) => {
                        self.refuse(Reject::Head(e), true);
                        false
                    }
                }
            }
            State::Length(n, upgrade) => {
                let take = (*n).min(avail as u64);
                *n -= take;
                self.ready += take as usize;
                if *n == 0 {
                    self.state = if *upgrade {
                        State::AwaitUpgrade
                    } else {
                        State::Head
                    };
                }
                true
            }
            State::Chunked(scanner, upgrade) => match scanner.feed(&self.data[at..self.end]) {
                Ok(Some(k)) => {
                    self.ready += k;
                    self.state = if *upgrade {
                        State::AwaitUpgrade
                    } else {
                        State::Head
                    };
                    true
                }
                Ok(None) => {
                    self.ready += avail;
                    true
                }
                Err(e) => {
                    // Part of this body already went to hyper: close without a second answer.
                    self.refuse(Reject::Head(e), false);
                    false
                }
            },
            State::AwaitUpgrade => false,
            State::Passthrough => {
                self.ready += avail;
                true
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for StrictIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.ready > 0 {
                let n = this.ready.min(dst.remaining());
                dst.put_slice(&this.data[this.start..this.start + n]);
                this.start += n;
                this.ready -= n;
                if this.start == this.end {
                    (this.start, this.end) = (0, 0);
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if this.process() {
                continue;
            }
            if this.eof {
                continue;
            }
            if matches!(this.state, State::AwaitUpgrade) {
                // Woken by the write side once the upgrade's response shows its status.
                this.read_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            // Nothing buffered in a state that needs no inspection: read straight into hyper's buffer.
            if this.end == this.start {
                let direct = match this.state {
                    State::Passthrough => Some(dst.remaining()),
                    State::Length(n, _) => Some(
                        usize::try_from(n)
                            .unwrap_or(usize::MAX)
                            .min(dst.remaining()),
                    ),
                    _ => None,
                };
                if let Some(limit) = direct {
                    let mut sub = ReadBuf::new(dst.initialize_unfilled_to(limit));
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sub))?;
                    let n = sub.filled().len();
                    dst.advance(n);
                    if let State::Length(rest, upgrade) = &mut this.state {
                        *rest -= n as u64;
                        if *rest == 0 {
                            this.state = if *upgrade {
                                State::AwaitUpgrade
                            } else {
                                State::Head
                            };
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
            }
            match this.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    this.eof = true;
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    let waiting_for_head = matches!(this.state, State::Start | State::Head);
                    if waiting_for_head && this.poll_timer(cx).is_ready() {
                        if this.end > this.start {
                            this.refuse(Reject::HeadTimeout, true);
                        } else {
                            this.eof = true;
                        }
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for StrictIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.saw_response(buf);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            self.saw_response(first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some((bytes, pos)) = &mut this.reject_out {
            while *pos < bytes.len() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*pos..]))?;
                if n == 0 {
                    break;
                }
                *pos += n;
            }
            ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
            this.reject_out = None;
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<S> StrictIo<S> {
    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}
