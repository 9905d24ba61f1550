//! `RequestCtx`: the per-request facts (ids, route, tenant, pool, endpoint, outcome, reason
//! code) gathered as the pipeline runs and read once at the end by metrics and the access log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Facts about the connection a request arrived on.
#[derive(Debug)]
pub struct ConnInfo {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// True on the TLS listener.
    pub tls: bool,
    /// True when the peer is in `server.trusted_proxies` (checked against the live config).
    pub trusted: bool,
    /// Verified client-certificate subject (TLS listener with `client_ca`).
    pub client_cert: Option<Arc<str>>,
    /// TLS SNI.
    pub sni: Option<Arc<str>>,
}

/// Per-request facts.
#[derive(Debug)]
pub struct RequestCtx {
    /// `X-Request-Id`.
    pub request_id: String,
    /// When the request head was handed to the pipeline.
    pub started: Instant,
    /// Method.
    pub method: http::Method,
    /// Canonical host, once known.
    pub host: String,
    /// Canonical path, once known.
    pub path: String,
    /// Route index in the snapshot.
    pub route: Option<usize>,
    /// Tenant name.
    pub tenant: Option<String>,
    /// Pool index in the snapshot.
    pub pool: Option<usize>,
    /// Endpoint used.
    pub endpoint: Option<String>,
    /// Response status.
    pub status: u16,
    /// Why the request ended the way it did (`forward`, `reject:no-route`, …).
    pub reason: &'static str,
    /// True when the proxy answered itself.
    pub rejected: bool,
    /// Tries made against upstream endpoints.
    pub attempts: u8,
}

impl RequestCtx {
    /// A fresh context.
    pub fn new(method: http::Method, request_id: String) -> Self {
        RequestCtx {
            request_id,
            started: Instant::now(),
            method,
            host: String::new(),
            path: String::new(),
            route: None,
            tenant: None,
            pool: None,
            endpoint: None,
            status: 0,
            reason: "forward",
            rejected: false,
            attempts: 0,
        }
    }
}

/// A new request id: 32 hex digits.
pub fn new_request_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}
