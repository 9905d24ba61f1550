//! The canonical host of a request: parsed from `Host` (or `:authority`), validated against the
//! RFC 3986 `host [":" port]` grammar, lower-cased, one trailing dot dropped. Routing, tenant
//! identification, logs and `X-Forwarded-Host` all use this one form. Non-ASCII hosts are
//! refused (HTTP carries A-labels; a U-label here is a client bug or an attack).

/// A validated, canonical request authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// Lower-case host without trailing dot; IPv6 literals keep their brackets.
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// True when the host is an IPv4 or IPv6 literal (such hosts never name a tenant).
    pub is_ip: bool,
}

/// Why an authority was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The value is empty.
    #[error("empty host")]
    Empty,
    /// The value does not follow the host grammar.
    #[error("invalid host {0:?}")]
    Invalid(String),
}

fn is_reg_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Checks an authority without allocating: the canonical host's text (trailing dot dropped,
/// not yet lower-cased; IPv6 literals without brackets) and the port.
fn scan(raw: &str) -> Result<(&str, Option<u16>), HostError> {
    if raw.is_empty() {
        return Err(HostError::Empty);
    }
    let invalid = || HostError::Invalid(raw.chars().take(256).collect());
    if let Some(rest) = raw.strip_prefix('[') {
        let close = rest.find(']').ok_or_else(invalid)?;
        let inner = &rest[..close];
        inner.parse::<std::net::Ipv6Addr>().map_err(|_| invalid())?;
        let port = match &rest[close + 1..] {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':').ok_or_else(invalid)?).ok_or_else(invalid)?),
        };
        return Ok((inner, port));
    }
    let (host, port) = match raw.rsplit_once(':') {
        Some((h, p)) => (h, Some(parse_port(p).ok_or_else(invalid)?)),
        None => (raw, None),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    // One pass: allowed bytes, no empty label (leading dot or "..").
    let mut prev_dot = true;
    for b in host.bytes() {
        if !is_reg_name_byte(b) || (b == b'.' && prev_dot) {
            return Err(invalid());
        }
        prev_dot = b == b'.';
    }
    if host.is_empty() {
        return Err(invalid());
    }
    Ok((host, port))
}

/// True when `raw` is a valid authority (no allocation).
pub fn is_valid_authority(raw: &str) -> bool {
    scan(raw).is_ok()
}

/// Parses and canonicalises an authority (`host[:port]`).
pub fn parse_authority(raw: &str) -> Result<Authority, HostError> {
    let (host, port) = scan(raw)?;
    if raw.starts_with('[') {
        return Ok(Authority {
            host: format!("[{}]", host.to_ascii_lowercase()),
            port,
            is_ip: true,
        });
    }
    let is_ip =
        host.ends_with(|c: char| c.is_ascii_digit()) && host.parse::<std::net::Ipv4Addr>().is_ok();
    Ok(Authority {
        host: host.to_ascii_lowercase(),
        port,
        is_ip,
    })
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

impl Authority {
    /// The authority as forwarded upstream: host plus the port unless it is the scheme default.
    pub fn to_forwarded(&self, tls: bool) -> String {
        match self.port {
            Some(p) if !(p == 80 && !tls || p == 443 && tls) => format!("{}:{p}", self.host),
            _ => self.host.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let a = parse_authority("ACME.erp.Example.com.:8080").expect("valid");
        assert_eq!(
            (a.host.as_str(), a.port, a.is_ip),
            ("acme.erp.example.com", Some(8080), false)
        );
        assert!(parse_authority("10.0.0.1").expect("ip").is_ip);
        let v6 = parse_authority("[::1]:443").expect("v6");
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.is_ip),
            ("[::1]", Some(443), true)
        );
        assert_eq!(
            parse_authority("a.example:80")
                .expect("p")
                .to_forwarded(false),
            "a.example"
        );
        assert_eq!(
            parse_authority("a.example:8443")
                .expect("p")
                .to_forwarded(true),
            "a.example:8443"
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "a b",
            "a..b",
            ".a",
            "a:",
            "a:99999",
            "a:1x",
            "[::1",
            "[zz]",
            "ä.example",
            "a/b",
            "a@b",
            "a:80:80",
        ] {
            assert!(parse_authority(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
