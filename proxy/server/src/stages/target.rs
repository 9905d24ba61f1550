//! Stage 1 (parse, after the strict HTTP/1 gate): the request's one canonical authority and
//! path. For HTTP/2 the `:authority` and any `Host` must agree; for HTTP/1 the gate already
//! checked Host and absolute-form targets.

use crate::rescue::Reject;
use http::{header, Request};
use switchyard_core::host::{parse_authority, Authority};
use switchyard_core::http1::HeadError;
use switchyard_core::path::canonicalize;

/// The canonical request target.
pub struct Target {
    /// Canonical authority.
    pub authority: Authority,
    /// `Host` as forwarded upstream (canonical, default port dropped).
    pub forwarded_host: http::HeaderValue,
    /// The request URI as received (a cheap clone).
    uri: http::Uri,
    /// Canonical path and the untouched query, when canonicalisation changed the path.
    rewritten: Option<(String, usize)>,
}

impl Target {
    /// The canonical path.
    pub fn path(&self) -> &str {
        match &self.rewritten {
            Some((pq, len)) => &pq[..*len],
            None => self.uri.path(),
        }
    }

    /// The canonical path with the query as received, as policies see it (`path?query`).
    pub fn uri_for_policies(&self, query: Option<&str>) -> String {
        match query {
            Some(q) => format!("{}?{q}", self.path()),
            None => self.path().to_owned(),
        }
    }

    /// The URI to forward, when it differs from the one received (path rewritten, or a
    /// scheme and authority to drop).
    pub fn forward_uri(&self) -> Option<Result<http::Uri, http::uri::InvalidUri>> {
        match &self.rewritten {
            Some((pq, _)) => Some(pq.parse()),
            None if self.uri.scheme().is_some() => Some(
                self.uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .parse(),
            ),
            None => None,
        }
    }
}

/// Computes the canonical target of a request.
pub fn canonical<B>(req: &Request<B>, tls: bool) -> Result<Target, Reject> {
    let malformed = |m| Reject::Head(HeadError::Malformed(m));
    let mut hosts = req.headers().get_all(header::HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(malformed("duplicate Host"));
    }
    let host = host
        .map(|h| h.to_str().map_err(|_| malformed("invalid Host")))
        .transpose()?;
    let raw = match (req.uri().authority().map(|a| a.as_str()), host) {
        (Some(a), Some(h)) if !a.eq_ignore_ascii_case(h) => {
            return Err(malformed("the request authority differs from Host"))
        }
        (Some(a), _) => a,
        (None, Some(h)) => h,
        (None, None) => return Err(malformed("missing Host")),
    };
    let authority = parse_authority(raw).map_err(|_| malformed("invalid Host"))?;
    let rewritten = match canonicalize(req.uri().path()).map_err(Reject::Path)? {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(mut pq) => {
            let len = pq.len();
            if let Some(q) = req.uri().query() {
                pq.push('?');
                pq.push_str(q);
            }
            Some((pq, len))
        }
    };
    let default_port = authority
        .port
        .is_none_or(|p| p == 80 && !tls || p == 443 && tls);
    // Usually the Host as received is already canonical: share its bytes.
    let as_received = req.headers().get(header::HOST).filter(|h| {
        let b = h.as_bytes();
        b.len() >= authority.host.len()
            && &b[..authority.host.len()] == authority.host.as_bytes()
            && (if default_port {
                b.len() == authority.host.len()
            } else {
                // ":port", already validated; only a leading zero would not be canonical.
                b.get(authority.host.len()..authority.host.len() + 2)
                    .is_some_and(|p| p[0] == b':' && p[1] != b'0')
            })
    });
    let forwarded_host = match (as_received, default_port) {
        (Some(h), _) => Ok(h.clone()),
        (None, true) => http::HeaderValue::from_str(&authority.host),
        (None, false) => {
            let mut s = String::with_capacity(authority.host.len() + 6);
            s.push_str(&authority.host);
            s.push(':');
            s.push_str(&authority.port.unwrap_or(0).to_string());
            http::HeaderValue::try_from(s)
        }
    }
    .map_err(|_| malformed("invalid Host"))?;
    Ok(Target {
        authority,
        forwarded_host,
        uri: req.uri().clone(),
        rewritten,
    })
}
