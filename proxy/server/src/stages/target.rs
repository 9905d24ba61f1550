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
    /// Canonical path followed by the untouched query (`/a/b?x=1`).
    pub path_and_query: String,
    /// Length of the path part of `path_and_query`.
    pub path_len: usize,
}

impl Target {
    /// The canonical path.
    pub fn path(&self) -> &str {
        &self.path_and_query[..self.path_len]
    }
}

/// Computes the canonical target of a request.
pub fn canonical<B>(req: &Request<B>) -> Result<Target, Reject> {
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
    let path = canonicalize(req.uri().path()).map_err(Reject::Path)?;
    let mut path_and_query = path.into_owned();
    let path_len = path_and_query.len();
    if let Some(q) = req.uri().query() {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    Ok(Target {
        authority,
        path_and_query,
        path_len,
    })
}
