//! Stage 9a (canary pick): the pool that serves the request. A tenant with its own pools
//! uses them; otherwise the route's. Where a canary pool exists, the sticky key's bucket is
//! weighed against the weight in force ([`switchyard_core::canary::decide`]); in cookie mode a
//! request without a valid bucket gets a new random one, sent back in `Set-Cookie`. The
//! tester override header is removed from every request and honoured only from its trusted
//! sources.

use crate::ctx::ConnInfo;
use crate::live::Snapshot;
use http::HeaderMap;
use std::net::IpAddr;
use switchyard_core::canary::{self, Ask, Forced, Reason, Variant};
use switchyard_core::config::{Canary, PoolId, Sticky};

/// Where a request goes.
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    /// The pool.
    pub pool: PoolId,
    /// The release, on routes with a canary (None elsewhere).
    pub variant: Option<Variant>,
    /// Why (access-log reason code), when a split decided it.
    pub reason: Option<Reason>,
    /// A bucket to set in the cookie (cookie mode, none or an invalid one was sent).
    pub new_bucket: Option<u16>,
}

/// Picks the pool and release for a request on `route` from `tenant`.
pub fn pick(
    snap: &Snapshot,
    route: usize,
    tenant: Option<usize>,
    headers: &mut HeaderMap,
    conn: &ConnInfo,
    policy: &crate::policies::stage::Choice,
) -> Pick {
    let cfg = &snap.config;
    let r = &cfg.routes[route];
    if let Some(pool) = policy.pool {
        // A policy's pool stands (ownership was checked when it was read).
        return Pick {
            pool: PoolId(pool),
            variant: policy.variant,
            reason: None,
            new_bucket: None,
        };
    }
    let Some((route_canary, c)) = &r.canary else {
        let pool = tenant
            .and_then(|t| cfg.tenants.list[t].upstream)
            .map_or(r.stable, |(s, _)| s);
        return Pick {
            pool,
            variant: None,
            reason: None,
            new_bucket: None,
        };
    };
    let forced = c.forced.as_ref().and_then(|rule| {
        let v = headers.remove(&rule.header)?;
        rule.trusts(client_ip(headers, conn))
            .then(|| Forced::parse(v.as_bytes()))?
    });
    // A policy's release choice counts as a trusted override.
    let forced = match policy.variant {
        Some(Variant::Canary) => Some(Forced::Always),
        Some(Variant::Stable) => Some(Forced::Never),
        None => forced,
    };
    let (stable, canary_pool) = match tenant.and_then(|t| cfg.tenants.list[t].upstream) {
        Some((s, c)) => (s, c),
        None => (r.stable, Some(*route_canary)),
    };
    let Some(canary_pool) = canary_pool else {
        return Pick {
            pool: stable,
            variant: Some(Variant::Stable),
            reason: None,
            new_bucket: None,
        };
    };
    let (bucket, new_bucket) = bucket(
        &r.name,
        c,
        tenant.map(|t| cfg.tenants.names[t].as_str()),
        headers,
        conn,
    );
    let ask = Ask {
        weight: snap.canary[route].weight,
        bucket,
        pilot: tenant.is_some_and(|t| c.pilot.binary_search(&t).is_ok()),
        excluded: tenant.is_some_and(|t| c.excluded.binary_search(&t).is_ok()),
        forced,
    };
    let (variant, reason) = canary::decide(&ask);
    Pick {
        pool: if variant == Variant::Canary {
            canary_pool
        } else {
            stable
        },
        variant: Some(variant),
        reason: Some(reason),
        new_bucket,
    }
}

/// The request's bucket, and a new one to hand out in cookie mode.
fn bucket(
    route: &str,
    c: &Canary,
    tenant: Option<&str>,
    headers: &HeaderMap,
    conn: &ConnInfo,
) -> (u16, Option<u16>) {
    let by_ip = |headers: &HeaderMap| {
        let ip = client_ip(headers, conn);
        match ip {
            IpAddr::V4(v4) => canary::bucket(route, &v4.octets()),
            IpAddr::V6(v6) => canary::bucket(route, &v6.octets()),
        }
    };
    match &c.sticky {
        Sticky::Tenant => (
            tenant.map_or_else(|| by_ip(headers), |t| canary::bucket(route, t.as_bytes())),
            None,
        ),
        Sticky::Header(h) => (
            headers
                .get(h)
                .map_or_else(|| by_ip(headers), |v| canary::bucket(route, v.as_bytes())),
            None,
        ),
        Sticky::ClientIp => (by_ip(headers), None),
        Sticky::Cookie => match cookie(headers, &c.cookie).and_then(canary::parse_bucket) {
            Some(b) => (b, None),
            None => {
                let b = fastrand::u16(..canary::BUCKETS);
                (b, Some(b))
            }
        },
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v.trim_matches('"'))
        })
}

/// The client's address: as the trusted proxy saw it (the element before the one the trust
/// stage appended to `X-Forwarded-For`), else the TCP peer.
pub fn client_ip(headers: &HeaderMap, conn: &ConnInfo) -> IpAddr {
    if conn.trusted {
        let xff = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        if let Some(ip) = xff.iter().rev().nth(1).and_then(|s| s.parse().ok()) {
            return ip;
        }
    }
    conn.peer.ip()
}

/// The `Set-Cookie` value that pins a bucket (30 days; `Secure` on TLS).
pub fn set_cookie(name: &str, bucket: u16, tls: bool) -> String {
    let secure = if tls { "; Secure" } else { "" };
    format!("{name}={bucket}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax{secure}")
}
