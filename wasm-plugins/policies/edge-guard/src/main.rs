//! edge-guard: header hygiene at the edge (first middleware of the Traefik chain).
//!
//! Removes the request header fields a client must never be able to set:
//! - tenant, routing and database overrides: `X-Tenant*`, `X-Switchyard-*`, `X-Odoo-*`,
//!   `X-Openerp-*`, and the URL overrides `X-Original-URL`, `X-Rewrite-URL`;
//! - the forwarded family that the edge does not manage: `Forwarded` (RFC 7239) and every
//!   `X-Forwarded-*` outside `forwarded_keep`;
//! - underscore spellings of all of those (`X_Tenant`, `X_Forwarded_For`): WSGI servers such
//!   as Odoo's fold `_` and `-` together.
//!
//! Why `X-Forwarded-For/Host/Proto/Port/Server` (and `X-Real-Ip`) are kept by default:
//! Traefik's entry point has already replaced them before any middleware runs (its
//! `forwardedHeaders` handler drops client values from untrusted peers and sets its own;
//! `X-Forwarded-For` is appended when forwarding). Removing them here would delete Traefik's
//! trustworthy values, not the client's. In switchyard the same names hold switchyard's own
//! canonical values (SPEC §3 step 2). Traefik does *not* manage `Forwarded` or the rest of
//! the `X-Forwarded-*` namespace (`X-Forwarded-Prefix`, `X-Forwarded-Ssl`, …): those pass
//! through Traefik verbatim, so they are removed here.
//!
//! Then `X-Request-Id`: a missing or malformed one (empty, over 128 bytes, anything but
//! visible ASCII, several values) is replaced by 32 hex digits; a single well-formed one is
//! kept (`request_id: absent`, the default). `request_id: always` replaces every client value,
//! `request_id: off` leaves the field alone.
//!
//! Config (all optional; Traefik's string scalars accepted):
//! ```yaml
//! strip: [x-debug-*, x-internal-token]   # extra names; a trailing * makes a prefix
//! forwarded_keep: [for, host, proto, port, server, uri, method, tls-client-cert, tls-client-cert-info]
//! request_id: absent                      # absent | always | off (true = absent, false = off)
//! ```

mod request_id;

use request_id::IdGen;
use switchyard_policy_sdk::{Config, ConfigError, Features, Policy, Request, Value, Verdict};

/// Prefixes removed from every request (compared after folding `_` to `-`, any case).
const STRIP_PREFIXES: &[&str] = &["x-tenant", "x-switchyard-", "x-odoo-", "x-openerp-"];
/// Names removed from every request.
const STRIP_NAMES: &[&str] = &["x-original-url", "x-rewrite-url", "forwarded"];
/// `X-Forwarded-*` suffixes the edge (Traefik) sets itself: kept by default.
const FORWARDED_KEEP: &[&str] = &[
    "for",
    "host",
    "proto",
    "port",
    "server",
    "uri",
    "method",
    "tls-client-cert",
    "tls-client-cert-info",
];

/// What to do with `X-Request-Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestIdMode {
    /// Add one when missing or malformed; keep a well-formed client value.
    Absent,
    /// Always replace.
    Always,
    /// Leave the field alone.
    Off,
}

struct EdgeGuard {
    /// Extra exact names (folded).
    names: Vec<String>,
    /// Extra prefixes (folded).
    prefixes: Vec<String>,
    /// `X-Forwarded-<suffix>` kept.
    forwarded_keep: Vec<String>,
    request_id: RequestIdMode,
    ids: IdGen,
}

/// Lower-cases and folds `_` to `-`.
fn fold(name: &str) -> String {
    name.trim()
        .bytes()
        .map(|b| {
            if b == b'_' {
                '-'
            } else {
                char::from(b.to_ascii_lowercase())
            }
        })
        .collect()
}

/// Folds `name` into `buf` when it fits (header names are ASCII tokens): no allocation on
/// the per-request path.
fn fold_into<'b>(name: &str, buf: &'b mut [u8]) -> Option<&'b str> {
    let name = name.trim();
    let out = buf.get_mut(..name.len())?;
    for (o, b) in out.iter_mut().zip(name.bytes()) {
        *o = if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        };
    }
    std::str::from_utf8(out).ok()
}

impl EdgeGuard {
    /// True when a client-sent field of this name must not reach the upstream.
    fn strips(&self, name: &str) -> bool {
        let mut buf = [0u8; 128];
        let owned;
        let f = match fold_into(name, &mut buf) {
            Some(f) => f,
            None => {
                owned = fold(name);
                owned.as_str()
            }
        };
        if STRIP_PREFIXES.iter().any(|p| f.starts_with(p))
            || STRIP_NAMES.contains(&f)
            || self.prefixes.iter().any(|p| f.starts_with(p.as_str()))
            || self.names.iter().any(|n| n == f)
        {
            return true;
        }
        let underscored = name.contains('_');
        if let Some(suffix) = f.strip_prefix("x-forwarded-") {
            return underscored || !self.forwarded_keep.iter().any(|k| k == suffix);
        }
        f == "x-real-ip" && underscored
    }
}

impl Policy for EdgeGuard {
    const NAME: &'static str = "edge-guard";
    const FEATURES: Features = Features::NONE;

    fn from_config(config: &Value) -> Result<Self, ConfigError> {
        let c = Config::new(config)?;
        c.deny_unknown(&["strip", "forwarded_keep", "request_id"])?;
        let mut names = Vec::new();
        let mut prefixes = Vec::new();
        for entry in c.field("strip").strings()? {
            match entry.strip_suffix('*') {
                Some(p) if !p.is_empty() => prefixes.push(fold(p)),
                Some(_) => return Err(c.field("strip").error("`*` alone would strip everything")),
                None => names.push(fold(&entry)),
            }
        }
        let keep = c.field("forwarded_keep");
        let forwarded_keep = if keep.value().is_some() {
            keep.strings()?.iter().map(|s| fold(s)).collect()
        } else {
            FORWARDED_KEEP.iter().map(|s| (*s).to_owned()).collect()
        };
        let mode = c.field("request_id");
        let request_id = match mode.str() {
            Ok(None) => RequestIdMode::Absent,
            Ok(Some(s)) => match s.to_ascii_lowercase().as_str() {
                "absent" | "true" | "yes" | "on" => RequestIdMode::Absent,
                "always" => RequestIdMode::Always,
                "off" | "false" | "no" => RequestIdMode::Off,
                _ => return Err(mode.error("must be absent, always or off")),
            },
            Err(e) => return Err(e),
        };
        Ok(EdgeGuard {
            names,
            prefixes,
            forwarded_keep,
            request_id,
            ids: IdGen::default(),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Verdict {
        let mut doomed: Vec<String> = Vec::new();
        req.each_header_name(&mut |name| {
            if self.strips(name) {
                doomed.push(name.to_owned());
            }
        });
        for name in &doomed {
            req.remove_header(name);
        }
        let replace = match self.request_id {
            RequestIdMode::Off => false,
            RequestIdMode::Always => true,
            RequestIdMode::Absent => {
                let values = req.header_values("x-request-id");
                !(values.len() == 1 && request_id::well_formed(&values[0]))
            }
        };
        if replace {
            let id = self.ids.next(req);
            req.set_header("X-Request-Id", &id);
        }
        Verdict::Continue
    }
}

switchyard_policy_sdk::policy_main!(EdgeGuard);

#[cfg(test)]
mod tests;
