//! Strict HTTP/1.1 request-head rules (RFC 9112) applied before any request reaches the
//! HTTP engine, so that switchyard and the Odoo workers behind it can never disagree on where
//! a request starts and ends. [`find_head_end`] locates a head, [`validate`] decides on it and
//! returns the body framing, and [`ChunkedScanner`] follows a chunked body to its end so the
//! next pipelined head is found too. Refused: CL+TE, duplicate or list Content-Length, any
//! Transfer-Encoding other than a single `chunked`, obs-fold, bare CR/LF, NUL and other
//! controls, whitespace before a colon, missing or duplicate Host, absolute-form targets whose
//! authority differs from Host, non-visible bytes in the target, unknown versions.

use crate::host::parse_authority;

/// The HTTP/2 connection preface (prior-knowledge h2c).
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Limits applied to a request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Maximum bytes of the whole head (request line + fields): 431 beyond.
    pub max_head: usize,
    /// Maximum bytes of the request-target: 414 beyond.
    pub max_uri: usize,
    /// Maximum number of header fields: 431 beyond.
    pub max_fields: usize,
}

/// How the body of a validated request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A validated request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Body framing.
    pub framing: Framing,
    /// The request asks for a protocol upgrade (`Upgrade` + `Connection: upgrade`).
    pub upgrade: bool,
}

/// Why a head was refused; each maps to one status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// 431: the head or the number of fields is over the limit.
    #[error("request header fields too large")]
    TooLarge,
    /// 414: the request-target is over the limit.
    #[error("request-target too long")]
    UriTooLong,
    /// 400: the head breaks a framing or syntax rule.
    #[error("{0}")]
    Malformed(&'static str),
}

impl HeadError {
    /// The HTTP status this refusal is answered with.
    pub fn status(&self) -> u16 {
        match self {
            HeadError::TooLarge => 431,
            HeadError::UriTooLong => 414,
            HeadError::Malformed(_) => 400,
        }
    }
}

/// Number of leading empty lines (CRLF) a recipient may ignore before a request line.
pub fn leading_blank_lines(buf: &[u8]) -> usize {
    let mut i = 0;
    while buf[i..].starts_with(b"\r\n") {
        i += 2;
    }
    i
}

/// Finds the end of the head starting at `buf[0]`: the index just past the empty line.
/// A bare-LF empty line also ends it (so [`validate`] can refuse it rather than wait).
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = memchr::memchr(b'\n', &buf[from..]) {
        let i = from + off;
        match (buf.get(i + 1), buf.get(i + 2)) {
            (Some(b'\n'), _) => return Some(i + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
            (None, _) | (Some(b'\r'), None) => return None,
            _ => from = i + 1,
        }
    }
    None
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Validates a complete head (`find_head_end` bytes, leading blank lines removed).
pub fn validate(head: &[u8], limits: &HeadLimits) -> Result<Head, HeadError> {
    if head.len() > limits.max_head {
        return Err(HeadError::TooLarge);
    }
    let mut lines = Lines { buf: head, pos: 0 };
    let line = lines
        .next_line()?
        .ok_or(HeadError::Malformed("empty request"))?;
    let (method, target) = request_line(line, limits)?;

    let mut st = Fields::default();
    let mut count = 0usize;
    while let Some(line) = lines.next_line()? {
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > limits.max_fields {
            return Err(HeadError::TooLarge);
        }
        field(line, &mut st)?;
    }
    if st.tes > 0 && line.ends_with(b"HTTP/1.0") {
        // RFC 9112 §6.1: chunked framing from an HTTP/1.0 sender is faulty framing.
        return Err(HeadError::Malformed(
            "Transfer-Encoding in an HTTP/1.0 request",
        ));
    }
    st.finish(method, target)
}

struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next CRLF-terminated line without its CRLF; bare CR or LF is refused.
    fn next_line(&mut self) -> Result<Option<&'a [u8]>, HeadError> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        let nl = memchr::memchr(b'\n', rest).ok_or(HeadError::Malformed("unterminated line"))?;
        if nl == 0 || rest[nl - 1] != b'\r' {
            return Err(HeadError::Malformed("bare LF in the request head"));
        }
        let line = &rest[..nl - 1];
        if memchr::memchr(b'\r', line).is_some() {
            return Err(HeadError::Malformed("bare CR in the request head"));
        }
        self.pos += nl + 1;
        Ok(Some(line))
    }
}

fn request_line<'a>(
    line: &'a [u8],
    limits: &HeadLimits,
) -> Result<(&'a [u8], &'a [u8]), HeadError> {
    let sp1 = memchr::memchr(b' ', line).ok_or(HeadError::Malformed("malformed request line"))?;
    let method = &line[..sp1];
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::Malformed("invalid method"));
    }
    let rest = &line[sp1 + 1..];
    let sp2 = memchr::memrchr(b' ', rest).ok_or(HeadError::Malformed("malformed request line"))?;
    let (target, version) = (&rest[..sp2], &rest[sp2 + 1..]);
    if target.len() > limits.max_uri {
        return Err(HeadError::UriTooLong);
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return Err(HeadError::Malformed("invalid request-target"));
    }
    if version != b"HTTP/1.1" && version != b"HTTP/1.0" {
        return Err(HeadError::Malformed("unsupported HTTP version"));
    }
    if method == b"CONNECT" {
        return Err(HeadError::Malformed("CONNECT is not served here"));
    }
    Ok((method, target))
}

#[derive(Default)]
struct Fields<'a> {
    host: Option<&'a [u8]>,
    hosts: u32,
    content_length: Option<u64>,
    cls: u32,
    tes: u32,
    upgrade_field: bool,
    connection_upgrade: bool,
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(s, |p| p + 1);
    &v[s..e.max(s)]
}

fn field<'a>(line: &'a [u8], st: &mut Fields<'a>) -> Result<(), HeadError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(HeadError::Malformed("obsolete line folding"));
    }
    let colon =
        memchr::memchr(b':', line).ok_or(HeadError::Malformed("header field without a colon"))?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HeadError::Malformed("invalid header field name"));
    }
    if is_lookalike(name) {
        return Err(HeadError::Malformed(
            "header field name mimics a framing field",
        ));
    }
    let value = trim_ows(&line[colon + 1..]);
    if value.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(HeadError::Malformed("control character in a header value"));
    }
    if name.eq_ignore_ascii_case(b"host") {
        st.hosts += 1;
        st.host = Some(value);
    } else if name.eq_ignore_ascii_case(b"content-length") {
        st.cls += 1;
        if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
            return Err(HeadError::Malformed("invalid Content-Length"));
        }
        let n = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
        st.content_length = Some(n.ok_or(HeadError::Malformed("invalid Content-Length"))?);
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        st.tes += 1;
        if !value.eq_ignore_ascii_case(b"chunked") {
            return Err(HeadError::Malformed("unsupported Transfer-Encoding"));
        }
    } else if name.eq_ignore_ascii_case(b"upgrade") {
        st.upgrade_field = true;
    } else if name.eq_ignore_ascii_case(b"connection") {
        st.connection_upgrade |= value
            .split(|&b| b == b',')
            .any(|t| trim_ows(t).eq_ignore_ascii_case(b"upgrade"));
    }
    Ok(())
}

/// `Transfer_Encoding`, `Content--Length`, …: names some servers fold into a framing field.
fn is_lookalike(name: &[u8]) -> bool {
    let squeezed: Vec<u8> = name
        .iter()
        .filter(|&&b| b != b'-' && b != b'_')
        .map(u8::to_ascii_lowercase)
        .collect();
    let framing =
        squeezed == b"transferencoding" || squeezed == b"contentlength" || squeezed == b"host";
    framing
        && !name.eq_ignore_ascii_case(b"transfer-encoding")
        && !name.eq_ignore_ascii_case(b"content-length")
        && !name.eq_ignore_ascii_case(b"host")
}

impl<'a> Fields<'a> {
    fn finish(self, method: &[u8], target: &[u8]) -> Result<Head, HeadError> {
        if self.cls > 1 {
            return Err(HeadError::Malformed("duplicate Content-Length"));
        }
        if self.tes > 1 {
            return Err(HeadError::Malformed("duplicate Transfer-Encoding"));
        }
        if self.cls > 0 && self.tes > 0 {
            return Err(HeadError::Malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        let host = match (self.hosts, self.host) {
            (0, _) | (_, None) => return Err(HeadError::Malformed("missing Host")),
            (1, Some(h)) => h,
            _ => return Err(HeadError::Malformed("duplicate Host")),
        };
        let host = std::str::from_utf8(host).map_err(|_| HeadError::Malformed("invalid Host"))?;
        if !crate::host::is_valid_authority(host) {
            return Err(HeadError::Malformed("invalid Host"));
        }
        check_target(method, target, host)?;
        let has_body = self.tes > 0 || self.content_length.is_some_and(|n| n > 0);
        if has_body && (method == b"GET" || method == b"HEAD") {
            return Err(HeadError::Malformed("GET and HEAD requests carry no body"));
        }
        let framing = match (self.tes, self.content_length) {
            (1, _) => Framing::Chunked,
            (_, Some(0)) | (_, None) => Framing::None,
            (_, Some(n)) => Framing::Length(n),
        };
        Ok(Head {
            framing,
            upgrade: self.upgrade_field && self.connection_upgrade,
        })
    }
}

fn check_target(method: &[u8], target: &[u8], host: &str) -> Result<(), HeadError> {
    if target == b"*" {
        return if method == b"OPTIONS" {
            Ok(())
        } else {
            Err(HeadError::Malformed("asterisk-form is for OPTIONS only"))
        };
    }
    if target.first() == Some(&b'/') {
        return Ok(());
    }
    let lower = target.to_ascii_lowercase();
    let rest = lower
        .strip_prefix(b"http://")
        .or_else(|| lower.strip_prefix(b"https://"))
        .ok_or(HeadError::Malformed("invalid request-target form"))?;
    let end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let auth = &rest[..end];
    if auth.contains(&b'@') {
        return Err(HeadError::Malformed("userinfo in the request-target"));
    }
    // Rare (absolute-form): the two parsed and compared in canonical form.
    let parsed = std::str::from_utf8(auth)
        .ok()
        .and_then(|a| parse_authority(a).ok());
    let host = parse_authority(host).ok();
    match (parsed, host) {
        (Some(a), Some(h)) if a.host == h.host && a.port == h.port => Ok(()),
        _ => Err(HeadError::Malformed(
            "absolute-form authority differs from Host",
        )),
    }
}

mod chunked;
pub use chunked::{ChunkedScanner, Step};

#[cfg(test)]
mod tests;
