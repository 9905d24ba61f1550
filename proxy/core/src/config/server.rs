//! `server:` — the data-plane listeners (plain HTTP/1.1 + h2c, optional rustls TLS with
//! optional client-certificate verification), the proxies trusted to set forwarded headers,
//! and the limits every connection and request is held to.

use super::Errors;
use crate::units::{parse_duration, parse_size};
use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// `server:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Plain listener address (HTTP/1.1 and prior-knowledge h2c).
    pub listen: String,
    /// Data-plane worker threads, each a single-threaded runtime on a SO_REUSEPORT socket
    /// (default: one per core).
    pub workers: Option<usize>,
    /// Optional TLS listener.
    pub tls: Option<TlsSpec>,
    /// Peers (CIDRs) allowed to set X-Forwarded-* and client-certificate headers.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// How long SIGTERM waits for in-flight requests (default 30s).
    pub shutdown_grace: Option<String>,
}

/// `server.tls:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// TLS listener address.
    pub listen: String,
    /// PEM certificate chain.
    pub cert: String,
    /// PEM private key.
    pub key: String,
    /// PEM CA bundle; when set, client certificates are verified against it.
    pub client_ca: Option<String>,
    /// Refuse handshakes without a client certificate (default false: optional).
    #[serde(default)]
    pub require_client_cert: bool,
}

/// `server.limits:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Request head size limit (431 beyond), default 64KiB.
    pub max_header_bytes: Option<String>,
    /// Request-target length limit (414 beyond), default 8KiB.
    pub max_uri_bytes: Option<String>,
    /// Request body limit (413 beyond), default 10MiB.
    pub max_body: Option<String>,
    /// Time to receive a whole request head once it started (408 beyond), default 10s.
    pub header_timeout: Option<String>,
    /// Idle keep-alive time before the connection is closed, default 60s.
    pub idle_timeout: Option<String>,
    /// Open data-plane connections at most (per process), default 10000.
    pub max_connections: Option<usize>,
}

/// Compiled `server:`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Plain listener.
    pub listen: SocketAddr,
    /// Worker threads.
    pub workers: usize,
    /// TLS listener.
    pub tls: Option<TlsConfig>,
    /// Trusted proxies.
    pub trusted_proxies: Vec<IpNet>,
    /// Limits.
    pub limits: Limits,
    /// Drain period on SIGTERM.
    pub shutdown_grace: Duration,
}

/// Compiled `server.tls:`.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// Listener.
    pub listen: SocketAddr,
    /// Certificate chain file.
    pub cert: PathBuf,
    /// Key file.
    pub key: PathBuf,
    /// Client CA file.
    pub client_ca: Option<PathBuf>,
    /// Client certificate mandatory.
    pub require_client_cert: bool,
}

/// Compiled limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Head bytes.
    pub max_header_bytes: usize,
    /// Target bytes.
    pub max_uri_bytes: usize,
    /// Body bytes.
    pub max_body: u64,
    /// Head timeout.
    pub header_timeout: Duration,
    /// Idle timeout.
    pub idle_timeout: Duration,
    /// Connection cap.
    pub max_connections: usize,
}

impl ServerConfig {
    /// True when `ip` may set forwarded and client-certificate headers.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

pub(super) fn addr(s: &str, path: &str, errs: &mut Errors) -> SocketAddr {
    s.parse().unwrap_or_else(|_| {
        errs.at(
            path,
            format!("invalid listen address {s:?} (expected ip:port, e.g. 0.0.0.0:8080)"),
        );
        SocketAddr::from(([127, 0, 0, 1], 0))
    })
}

/// Parses a list of CIDRs (a bare address is a /32 or /128), reporting each bad one at
/// `path[i]`.
pub(super) fn cidrs(list: &[String], path: &str, errs: &mut Errors) -> Vec<IpNet> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let parsed = s
                .parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from));
            parsed
                .map_err(|_| errs.at(format!("{path}[{i}]"), format!("invalid CIDR {s:?}")))
                .ok()
        })
        .collect()
}

pub(super) fn duration(
    v: &Option<String>,
    default: Duration,
    path: &str,
    errs: &mut Errors,
) -> Duration {
    v.as_deref().map_or(default, |s| {
        parse_duration(s).unwrap_or_else(|m| {
            errs.at(path, m);
            default
        })
    })
}

pub(super) fn size(v: &Option<String>, default: u64, path: &str, errs: &mut Errors) -> u64 {
    v.as_deref().map_or(default, |s| {
        parse_size(s).unwrap_or_else(|m| {
            errs.at(path, m);
            default
        })
    })
}

/// Compiles `server:`.
pub fn compile(spec: &ServerSpec, errs: &mut Errors) -> ServerConfig {
    let l = &spec.limits;
    let limits = Limits {
        max_header_bytes: size(
            &l.max_header_bytes,
            64 << 10,
            "server.limits.max_header_bytes",
            errs,
        ) as usize,
        max_uri_bytes: size(
            &l.max_uri_bytes,
            8 << 10,
            "server.limits.max_uri_bytes",
            errs,
        ) as usize,
        max_body: size(&l.max_body, 10 << 20, "server.limits.max_body", errs),
        header_timeout: duration(
            &l.header_timeout,
            Duration::from_secs(10),
            "server.limits.header_timeout",
            errs,
        ),
        idle_timeout: duration(
            &l.idle_timeout,
            Duration::from_secs(60),
            "server.limits.idle_timeout",
            errs,
        ),
        max_connections: l.max_connections.unwrap_or(10_000),
    };
    if limits.max_connections == 0 {
        errs.at("server.limits.max_connections", "must be at least 1");
    }
    if limits.max_header_bytes < 1024 {
        errs.at("server.limits.max_header_bytes", "must be at least 1KiB");
    }
    let trusted_proxies = cidrs(&spec.trusted_proxies, "server.trusted_proxies", errs);
    let tls = spec.tls.as_ref().map(|t| TlsConfig {
        listen: addr(&t.listen, "server.tls.listen", errs),
        cert: PathBuf::from(&t.cert),
        key: PathBuf::from(&t.key),
        client_ca: t.client_ca.as_ref().map(PathBuf::from),
        require_client_cert: t.require_client_cert,
    });
    if let Some(t) = &tls {
        if t.require_client_cert && t.client_ca.is_none() {
            errs.at(
                "server.tls.require_client_cert",
                "needs server.tls.client_ca",
            );
        }
    }
    let workers = spec
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if workers == 0 || workers > 256 {
        errs.at("server.workers", "must be between 1 and 256");
    }
    ServerConfig {
        listen: addr(&spec.listen, "server.listen", errs),
        workers: workers.clamp(1, 256),
        tls,
        trusted_proxies,
        limits,
        shutdown_grace: duration(
            &spec.shutdown_grace,
            Duration::from_secs(30),
            "server.shutdown_grace",
            errs,
        ),
    }
}
