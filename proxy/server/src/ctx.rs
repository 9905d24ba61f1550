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
    /// The peer's address as an `X-Forwarded-For` element, computed once per connection.
    pub peer_ip: http::HeaderValue,
    /// Verified client certificate's subject CN and DNS SANs (TLS listener with `client_ca`).
    pub client_cert: Option<Arc<crate::tls::CertSubject>>,
    /// TLS SNI.
    pub sni: Option<Arc<str>>,
    /// The connection's slot under `max_connections`, held as long as the connection (a
    /// WebSocket tunnel included) is open.
    pub permit: tokio::sync::OwnedSemaphorePermit,
}

/// Per-request facts.
#[derive(Debug)]
pub struct RequestCtx {
    /// `X-Request-Id` (sent upstream and back to the client).
    pub request_id: http::HeaderValue,
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
    /// Tenant index in the snapshot.
    pub tenant_idx: Option<usize>,
    /// Pool index in the snapshot.
    pub pool: Option<usize>,
    /// The release picked, on routes with a canary.
    pub variant: Option<switchyard_core::canary::Variant>,
    /// A `Set-Cookie` value pinning a new canary bucket.
    pub set_cookie: Option<http::HeaderValue>,
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
    pub fn new(method: http::Method, request_id: http::HeaderValue) -> Self {
        RequestCtx {
            request_id,
            started: Instant::now(),
            method,
            host: String::new(),
            path: String::new(),
            route: None,
            tenant_idx: None,
            pool: None,
            variant: None,
            set_cookie: None,
            endpoint: None,
            status: 0,
            reason: "forward",
            rejected: false,
            attempts: 0,
        }
    }
}

impl RequestCtx {
    /// The request id as text.
    pub fn id(&self) -> &str {
        self.request_id.to_str().unwrap_or("")
    }
}

/// A new request id: 32 hex digits.
pub fn new_request_id() -> String {
    let mut s = String::with_capacity(32);
    push_hex(&mut s, fastrand::u128(..), 32);
    s
}

/// Appends the low `digits` hex digits of `v` (lower case), without going through `fmt`.
pub fn push_hex(out: &mut String, v: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    let n = (digits as usize).min(32);
    for (i, slot) in buf[..n].iter_mut().enumerate() {
        *slot = HEX[((v >> ((n - 1 - i) * 4)) & 0xf) as usize];
    }
    // Hex digits are ASCII.
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
}
