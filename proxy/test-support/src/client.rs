//! A raw HTTP/1.1 client for tests: send exact bytes, read back one response (honouring
//! Content-Length, chunked, or close), and a few shorthands for common requests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// Status code (0 if the connection closed without an answer).
    pub status: u16,
    /// Header fields in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked).
    pub body: Vec<u8>,
}

impl Resp {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Opens a connection with a read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// Reads one response from a stream (for `HEAD` requests pass `head_only`).
pub fn read_response(s: &mut impl Read, head_only: bool) -> Resp {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => {
                return Resp {
                    status: 0,
                    headers: vec![],
                    body: buf,
                }
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut hs);
    let _ = r.parse(&buf[..head_end]);
    let status = r.code.unwrap_or(0);
    let headers: Vec<(String, String)> = r
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let mut body = buf[head_end..].to_vec();
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if head_only || status == 101 || status == 204 || status == 304 {
        return Resp {
            status,
            headers,
            body,
        };
    }
    if let Some(cl) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < cl {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        body.truncate(cl);
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        while !body.windows(5).any(|w| w == b"0\r\n\r\n") {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        body = dechunk(&body);
    } else {
        let _ = s.read_to_end(&mut body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..i])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// Sends raw bytes on a fresh connection and reads one response (status 0 when the
/// connection is refused or closed without an answer).
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> Resp {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return Resp {
            status: 0,
            headers: vec![],
            body: vec![],
        };
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    if s.write_all(bytes).is_err() {
        return Resp {
            status: 0,
            headers: vec![],
            body: vec![],
        };
    }
    read_response(&mut s, false)
}

/// Sends raw bytes and reads everything until the server closes (for pipelining tests).
pub fn raw_all(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = connect(addr);
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// `GET path` with a Host and extra header lines (`"Name: value"`).
pub fn get(addr: SocketAddr, host: &str, path: &str, extra: &[&str]) -> Resp {
    request(addr, "GET", host, path, extra, b"")
}

/// A request with a body (Content-Length set when the body is non-empty).
pub fn request(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    extra: &[&str],
    body: &[u8],
) -> Resp {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

/// An admin API call with an optional bearer token.
pub fn admin(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[&str],
    body: &[u8],
) -> Resp {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let mut hs: Vec<&str> = extra.to_vec();
    if let Some(a) = &auth {
        hs.push(a);
    }
    request(addr, method, &addr.to_string(), path, &hs, body)
}
