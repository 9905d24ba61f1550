//! A recording upstream: a raw HTTP/1.1 server on 127.0.0.1:0 that keeps the exact bytes of
//! every request it receives (head and body), counts its open connections, and answers as
//! told: a fixed response, never (hang), after a delay, or a `101` followed by a byte echo.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_core::http1::ChunkedScanner;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Head bytes (request line + fields + empty line).
    pub head: Vec<u8>,
    /// Body bytes as framed on the wire.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The head as text.
    pub fn head_str(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }
    /// The request line.
    pub fn request_line(&self) -> String {
        self.head_str().lines().next().unwrap_or("").to_owned()
    }
    /// Values of a header (case-insensitive name), in order.
    pub fn header(&self, name: &str) -> Vec<String> {
        self.head_str()
            .split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// How the upstream answers.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// `status` with this body.
    Respond(u16, String),
    /// Read the request, never answer.
    Hang,
    /// Answer 200 after a delay.
    Delay(Duration),
    /// Answer `101 Switching Protocols`, then echo bytes back.
    UpgradeEcho,
    /// Answer these exact bytes.
    Raw(String),
    /// Answer 200 keep-alive style, then close the connection anyway (a stale pooled one).
    RespondThenClose,
    /// Answer with a chunked body: `first`, then after the delay `second`.
    Stream(Duration),
}

/// A running recording upstream.
pub struct RecordingUpstream {
    /// Its address.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    open: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl RecordingUpstream {
    /// Answers every request with `200 ok`.
    pub fn start() -> Self {
        Self::with(Behavior::Respond(200, "ok".into()))
    }

    /// Starts with a behaviour.
    pub fn with(behavior: Behavior) -> Self {
        Self::on(SocketAddr::from(([127, 0, 0, 1], 0)), behavior)
    }

    /// Starts on a given address (an upstream that comes back where it was).
    pub fn on(at: SocketAddr, behavior: Behavior) -> Self {
        let listener = TcpListener::bind(at).expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let up = RecordingUpstream {
            addr,
            log: Arc::default(),
            open: Arc::default(),
            accepted: Arc::default(),
            stop: Arc::default(),
        };
        let (log, open, accepted, stop) = (
            up.log.clone(),
            up.open.clone(),
            up.accepted.clone(),
            up.stop.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                accepted.fetch_add(1, Ordering::Relaxed);
                open.fetch_add(1, Ordering::Relaxed);
                let (log, open, behavior) = (log.clone(), open.clone(), behavior.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &log, &behavior);
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        up
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Connections currently open to it.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// `http://addr` for configs.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RecordingUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut s: TcpStream, log: &Mutex<Vec<Recorded>>, behavior: &Behavior) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    // Answers go out in several writes: without NODELAY a keep-alive client waits on a
    // delayed ACK (~40 ms) per request.
    s.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !fill(&mut s, &mut buf)? {
                return Ok(());
            }
        };
        let head = buf[..head_end].to_vec();
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let chunked = text.contains("\r\ntransfer-encoding: chunked");
        let cl = text
            .split("\r\n")
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body_end = if chunked {
            let mut sc = ChunkedScanner::default();
            let mut pos = head_end;
            loop {
                match sc.feed(&buf[pos..]) {
                    Ok(Some(k)) => break pos + k,
                    Ok(None) => {
                        pos = buf.len();
                        if !fill(&mut s, &mut buf)? {
                            return Ok(());
                        }
                    }
                    Err(_) => return Ok(()),
                }
            }
        } else {
            let end = head_end + cl.unwrap_or(0);
            while buf.len() < end {
                if !fill(&mut s, &mut buf)? {
                    return Ok(());
                }
            }
            end
        };
        let rec = Recorded {
            head,
            body: buf[head_end..body_end].to_vec(),
        };
        if let Ok(mut l) = log.lock() {
            l.push(rec);
        }
        buf.drain(..body_end);
        match behavior {
            Behavior::Respond(status, body) => {
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                s.write_all(answer.as_bytes())?;
            }
            Behavior::Delay(d) => {
                std::thread::sleep(*d);
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")?;
            }
            Behavior::Raw(bytes) => s.write_all(bytes.as_bytes())?,
            Behavior::Stream(pause) => {
                s.write_all(
                    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n",
                )?;
                std::thread::sleep(*pause);
                s.write_all(b"6\r\nsecond\r\n0\r\n\r\n")?;
            }
            Behavior::RespondThenClose => {
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")?;
                return Ok(());
            }
            Behavior::Hang => {
                let mut sink = [0u8; 1024];
                while s.read(&mut sink).map(|n| n > 0).unwrap_or(false) {}
                return Ok(());
            }
            Behavior::UpgradeEcho => {
                s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n")?;
                if !buf.is_empty() {
                    s.write_all(&buf)?;
                }
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk)?;
                    if n == 0 {
                        return Ok(());
                    }
                    s.write_all(&chunk[..n])?;
                }
            }
        }
    }
}

fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = s.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}
