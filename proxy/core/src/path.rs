//! The one canonical request path. Routing, ACLs, logs and forwarding all use it, so a request
//! cannot look like one path to the proxy and another to Odoo: percent-encoded unreserved
//! bytes are decoded, other escapes upper-cased, dot-segments removed, repeated slashes merged.
//! Encoded `/` (`%2F`), `\` (`%5C`) and NUL (`%00`), raw backslashes, and broken escapes are
//! refused. The query string is never rewritten.

use std::borrow::Cow;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the path must start with '/'")]
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    #[error("broken percent-escape in the path")]
    BadEscape,
    /// An escape that would change the path's structure or smuggle a NUL.
    #[error("the path contains a forbidden encoded byte %{0:02X}")]
    ForbiddenEscape(u8),
    /// A raw byte that has no place in a path.
    #[error("the path contains a forbidden byte 0x{0:02X}")]
    ForbiddenByte(u8),
}

/// The value of one hex digit.
pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Canonicalises a raw path (the request-target up to `?`).
///
/// Borrows the input (no allocation) when it is already canonical, the common case.
pub fn canonicalize(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if is_canonical(bytes) {
        return Ok(Cow::Borrowed(raw));
    }
    slow(raw).map(Cow::Owned)
}

/// True when no rule would change the path: no escapes, no empty or dot segments.
fn is_canonical(bytes: &[u8]) -> bool {
    let mut prev_slash = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'/' if prev_slash => return false,
            b'.' if prev_slash => {
                let next = bytes.get(i + 1).copied();
                if matches!(next, None | Some(b'/'))
                    || (next == Some(b'.') && matches!(bytes.get(i + 2), None | Some(b'/')))
                {
                    return false;
                }
            }
            b'%' | b'\\' | b'#' | b'?' => return false,
            0x21..=0x7e => {}
            _ => return false,
        }
        prev_slash = b == b'/';
    }
    true
}

fn slow(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    // Pass 1: decode unreserved escapes, normalise the others, refuse the dangerous ones.
    let mut decoded = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'%' => {
                let (h, l) = match (
                    bytes.get(i + 1).and_then(|&c| hex(c)),
                    bytes.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => (h, l),
                    _ => return Err(PathError::BadEscape),
                };
                let v = h * 16 + l;
                if matches!(v, b'/' | b'\\' | 0) {
                    return Err(PathError::ForbiddenEscape(v));
                }
                if is_unreserved(v) {
                    decoded.push(v as char);
                } else {
                    decoded.push('%');
                    decoded.push(char::from(b"0123456789ABCDEF"[usize::from(h)]));
                    decoded.push(char::from(b"0123456789ABCDEF"[usize::from(l)]));
                }
                i += 3;
            }
            b'\\' | b'#' | b'?' => return Err(PathError::ForbiddenByte(b)),
            0x21..=0x7e => {
                decoded.push(b as char);
                i += 1;
            }
            _ => return Err(PathError::ForbiddenByte(b)),
        }
    }
    // Pass 2: merge slashes and remove dot-segments (RFC 3986 §5.2.4 on merged segments).
    let mut out: Vec<&str> = Vec::new();
    let trailing = decoded.ends_with('/') || decoded.ends_with("/.") || decoded.ends_with("/..");
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut canon = String::with_capacity(decoded.len());
    for seg in &out {
        canon.push('/');
        canon.push_str(seg);
    }
    if trailing || out.is_empty() {
        canon.push('/');
    }
    Ok(canon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical() {
        let cases = [
            ("/", "/"),
            ("/web/login", "/web/login"),
            ("//web///login", "/web/login"),
            ("/web/./login", "/web/login"),
            ("/a/b/../c", "/a/c"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("/a/%2e%2e/b", "/b"),
            ("/a/%2E/b/", "/a/b/"),
            ("/%41bc", "/Abc"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a/..", "/"),
            ("/a/b/.", "/a/b/"),
            ("/web/content/1?x", ""),
        ];
        for (raw, want) in cases {
            if want.is_empty() {
                assert!(canonicalize(raw).is_err(), "{raw}");
            } else {
                assert_eq!(canonicalize(raw).as_deref(), Ok(want), "{raw}");
            }
        }
    }

    #[test]
    fn refusals() {
        assert_eq!(
            canonicalize("/a%2Fb"),
            Err(PathError::ForbiddenEscape(b'/'))
        );
        assert_eq!(
            canonicalize("/a%2fb"),
            Err(PathError::ForbiddenEscape(b'/'))
        );
        assert_eq!(
            canonicalize("/a%5Cb"),
            Err(PathError::ForbiddenEscape(b'\\'))
        );
        assert_eq!(canonicalize("/a%00"), Err(PathError::ForbiddenEscape(0)));
        assert_eq!(canonicalize("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(canonicalize("/a%4"), Err(PathError::BadEscape));
        assert_eq!(canonicalize("/a\\b"), Err(PathError::ForbiddenByte(b'\\')));
        assert_eq!(canonicalize("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(canonicalize("/a b"), Err(PathError::ForbiddenByte(b' ')));
    }
}
