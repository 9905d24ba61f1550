//! Which request and response header fields switchyard removes before forwarding, and why.
//! Hop-by-hop fields (RFC 9110 §7.6.1) never cross the proxy. Fields that claim a client's
//! address, protocol, tenant, database or routing are removed from untrusted peers (the
//! forwarded family) or from everyone (Odoo's and switchyard's own, URL overrides), including
//! underscore spellings that some servers fold into dashes.

/// Hop-by-hop fields, always removed (plus any named in `Connection`).
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a request field is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strip {
    /// Keep it.
    Keep,
    /// Hop-by-hop: never forwarded.
    HopByHop,
    /// Claims made by a peer we do not trust (forwarded family).
    Untrusted,
    /// Claims nobody outside may make (tenant/db/routing overrides, URL rewrites).
    Always,
}

/// Classifies a request field name (any case; underscores count as dashes). No allocation.
pub fn classify(name: &str, peer_trusted: bool) -> Strip {
    let n = name.as_bytes();
    if HOP_BY_HOP.iter().any(|h| eq_norm(n, h)) {
        return Strip::HopByHop;
    }
    let forwarded =
        starts_norm(n, "x-forwarded-") || eq_norm(n, "forwarded") || eq_norm(n, "x-real-ip");
    if starts_norm(n, "x-odoo-")
        || starts_norm(n, "x-openerp-")
        || starts_norm(n, "x-switchyard-")
        || starts_norm(n, "x-tenant")
        || eq_norm(n, "x-original-url")
        || eq_norm(n, "x-rewrite-url")
        || (forwarded && n.contains(&b'_'))
    {
        return Strip::Always;
    }
    if !peer_trusted && (forwarded || eq_norm(n, "x-request-id")) {
        return Strip::Untrusted;
    }
    Strip::Keep
}

fn norm(b: u8) -> u8 {
    if b == b'_' {
        b'-'
    } else {
        b.to_ascii_lowercase()
    }
}

fn eq_norm(n: &[u8], lit: &str) -> bool {
    n.len() == lit.len() && n.iter().zip(lit.bytes()).all(|(&a, b)| norm(a) == b)
}

fn starts_norm(n: &[u8], prefix: &str) -> bool {
    n.len() >= prefix.len() && eq_norm(&n[..prefix.len()], prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("Connection", true, Strip::HopByHop),
            ("Transfer-Encoding", false, Strip::HopByHop),
            ("X-Forwarded-For", false, Strip::Untrusted),
            ("X-Forwarded-For", true, Strip::Keep),
            ("X_Forwarded_For", true, Strip::Always),
            ("Forwarded", false, Strip::Untrusted),
            ("X-Real-IP", false, Strip::Untrusted),
            ("X-Odoo-Dbfilter", true, Strip::Always),
            ("x_odoo_dbfilter", true, Strip::Always),
            ("X-Openerp-Session-Id", true, Strip::Always),
            ("X-Switchyard-Pool", true, Strip::Always),
            ("X-Tenant", true, Strip::Always),
            ("x_tenant_id", false, Strip::Always),
            ("X-Original-URL", true, Strip::Always),
            ("X-Rewrite-Url", false, Strip::Always),
            ("X-Request-Id", false, Strip::Untrusted),
            ("X-Request-Id", true, Strip::Keep),
            ("Accept", false, Strip::Keep),
            ("Cookie", false, Strip::Keep),
        ];
        for (name, trusted, want) in cases {
            assert_eq!(classify(name, trusted), want, "{name} trusted={trusted}");
        }
    }
}
