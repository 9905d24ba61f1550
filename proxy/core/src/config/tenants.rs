//! `tenants:` — who the tenants are and how a request names one. Sources: a host pattern such
//! as `{tenant}.erp.example.com` (one DNS label of the canonical host), the verified client
//! certificate (`client_cert: cn | san_dns`), and a header set by a trusted proxy
//! (`header: X-Tenant`). A name not in `list` is an unknown tenant (404), never a default
//! one. A tenant may name its own pools (`upstream:`), which then serve it on every route,
//! its database (pinned by the Odoo guard) and its admission limits ([`super::admission`]).

use super::admission::{self, Admission, DefaultsSpec, OdooGuard, OdooSpec, RateSpec};
use super::pools::PoolId;
use super::routes::pool_ref;
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

/// `tenants:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantsSpec {
    /// Sources that yield a tenant.
    #[serde(default)]
    pub identify: Vec<IdentifySpec>,
    /// Admission defaults for every tenant.
    #[serde(default)]
    pub defaults: DefaultsSpec,
    /// The Odoo guard.
    #[serde(default)]
    pub odoo: OdooSpec,
    /// Known tenants by name.
    #[serde(default)]
    pub list: BTreeMap<String, TenantSpec>,
}

/// One identification source as written: exactly one of the fields.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifySpec {
    /// Host pattern with one `{tenant}` label, e.g. `{tenant}.erp.example.com`.
    pub host: Option<String>,
    /// The verified client certificate: `cn` (its subject CN is the tenant) or `san_dns`
    /// (the first label of a DNS subject-alternative name is the tenant).
    pub client_cert: Option<String>,
    /// A header naming the tenant, honoured only from `server.trusted_proxies`.
    pub header: Option<String>,
}

/// One tenant as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The tenant's Odoo database (pinned; sent as `X-Odoo-dbfilter: ^<database>$`).
    pub database: Option<String>,
    /// The tenant's own pools, used instead of each route's.
    pub upstream: Option<TenantUpstreamSpec>,
    /// Requests in flight at once (default: tenants.defaults).
    pub max_in_flight: Option<u32>,
    /// Requests queued at most (default: tenants.defaults).
    pub queue: Option<u32>,
    /// Rate limit (default: tenants.defaults).
    pub rate: Option<RateSpec>,
}

/// A tenant's `upstream:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpstreamSpec {
    /// The tenant's stable pool.
    pub stable: String,
    /// The tenant's canary pool; without one the tenant never gets a canary.
    pub canary: Option<String>,
}

/// One compiled tenant.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Its own pools (stable, optional canary), replacing each route's.
    pub upstream: Option<(PoolId, Option<PoolId>)>,
    /// Its database.
    pub database: Option<String>,
    /// Its admission limits.
    pub admission: Admission,
}

/// Which part of a verified client certificate names the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertField {
    /// The subject CN is the tenant name.
    Cn,
    /// The first label of a DNS subject-alternative name is the tenant name.
    SanDns,
}

/// A compiled host pattern: `prefix` + one label + `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Text before the tenant label (lower case).
    pub prefix: String,
    /// Text after the tenant label (lower case).
    pub suffix: String,
}

impl HostPattern {
    /// The tenant label `host` carries under this pattern, if it matches.
    /// A host with several labels where the pattern has one (`a.b.erp.example.com`) names no
    /// configured tenant — it is returned whole so that it is refused as unknown rather than
    /// served with no tenant at all.
    pub fn extract<'h>(&self, host: &'h str) -> Option<&'h str> {
        let mid = host
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        (!mid.is_empty()).then_some(mid)
    }
}

/// Compiled `tenants:`.
#[derive(Debug, Clone, Default)]
pub struct Tenants {
    /// Host patterns, tried in order.
    pub host_patterns: Vec<HostPattern>,
    /// Known tenant names, sorted.
    pub names: Vec<String>,
    /// Tenants, indexed like `names`.
    pub list: Vec<Tenant>,
    /// Client-certificate source.
    pub cert: Option<CertField>,
    /// Trusted-header source (lower-case name).
    pub header: Option<http::HeaderName>,
    /// Admission for requests without a tenant.
    pub defaults: Admission,
    /// The Odoo guard.
    pub odoo: OdooGuard,
}

/// What the request's host says about its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantMatch<'a> {
    /// No source yields a tenant.
    None,
    /// A known tenant (index into [`Tenants::names`]).
    Known(usize),
    /// A tenant name that is not configured.
    Unknown(&'a str),
}

impl Tenants {
    /// The index of a known tenant.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| n.as_str().cmp(name)).ok()
    }

    /// Identifies the tenant named by a canonical host (IP literals name none).
    pub fn by_host<'h>(&self, host: &'h str, is_ip: bool) -> TenantMatch<'h> {
        if is_ip {
            return TenantMatch::None;
        }
        for p in &self.host_patterns {
            if let Some(label) = p.extract(host) {
                return match self.names.binary_search_by(|n| n.as_str().cmp(label)) {
                    Ok(i) => TenantMatch::Known(i),
                    Err(_) => TenantMatch::Unknown(label),
                };
            }
        }
        TenantMatch::None
    }
}

fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

/// A host pattern with one whole `{tenant}` label; other labels may be IDNs, converted to
/// their ASCII form (as hosts arrive) with the label standing in for the tenant.
fn host_pattern(raw: &str, path: &str, errs: &mut Errors) -> Option<HostPattern> {
    const STAND_IN: &str = "tenant-label-stand-in";
    let whole_label =
        raw.matches("{tenant}").count() == 1 && raw.split('.').any(|l| l == "{tenant}");
    let ascii = whole_label
        .then(|| idna::domain_to_ascii(&raw.replace("{tenant}", STAND_IN)).ok())
        .flatten();
    let pattern = ascii
        .as_deref()
        .and_then(|a| a.split_once(STAND_IN))
        .map(|(p, s)| HostPattern {
            prefix: p.to_owned(),
            suffix: s.to_owned(),
        });
    if pattern.is_none() {
        errs.at(path, format!("invalid host pattern {raw:?} (expected one whole label `{{tenant}}`, e.g. {{tenant}}.erp.example.com)"));
    }
    pattern
}

/// Compiles `tenants:` against the pool names.
pub fn compile(spec: &TenantsSpec, pools: &HashMap<String, PoolId>, errs: &mut Errors) -> Tenants {
    let mut host_patterns = Vec::new();
    let (mut cert, mut header) = (None, None);
    for (i, id) in spec.identify.iter().enumerate() {
        let path = format!("tenants.identify[{i}]");
        match (&id.host, &id.client_cert, &id.header) {
            (Some(h), None, None) => {
                host_patterns.extend(host_pattern(h, &format!("{path}.host"), errs))
            }
            (None, Some(c), None) => match c.as_str() {
                "cn" => cert = Some(CertField::Cn),
                "san_dns" => cert = Some(CertField::SanDns),
                other => errs.at(
                    format!("{path}.client_cert"),
                    format!("unknown certificate field {other:?} (expected cn or san_dns)"),
                ),
            },
            (None, None, Some(h)) => match http::HeaderName::try_from(h.as_str()) {
                Ok(n) => header = Some(n),
                Err(_) => errs.at(
                    format!("{path}.header"),
                    format!("invalid header name {h:?}"),
                ),
            },
            _ => errs.at(
                path,
                "each source names exactly one of host, client_cert or header",
            ),
        }
    }
    let names: Vec<String> = spec.list.keys().cloned().collect();
    for n in &names {
        if !valid_label(n) {
            errs.at(
                format!("tenants.list.{n}"),
                "tenant names are lower-case DNS labels (a-z, 0-9, -)",
            );
        }
    }
    if !names.is_empty() && host_patterns.is_empty() && cert.is_none() && header.is_none() {
        errs.at(
            "tenants.identify",
            "tenants are listed but no identify source is configured",
        );
    }
    let defaults = admission::admission(
        &spec.defaults,
        Admission::default(),
        "tenants.defaults",
        errs,
    );
    let list = spec
        .list
        .iter()
        .map(|(name, t)| Tenant {
            database: t.database.clone(),
            admission: admission::admission(
                &DefaultsSpec {
                    max_in_flight: t.max_in_flight,
                    queue: t.queue,
                    rate: t.rate.clone(),
                },
                defaults,
                &format!("tenants.list.{name}"),
                errs,
            ),
            upstream: t.upstream.as_ref().map(|u| {
                let path = format!("tenants.list.{name}.upstream");
                let stable = pool_ref(&u.stable, pools, &format!("{path}.stable"), errs);
                let canary = u
                    .canary
                    .as_ref()
                    .map(|c| pool_ref(c, pools, &format!("{path}.canary"), errs));
                (stable, canary)
            }),
        })
        .collect();
    for (name, t) in &spec.list {
        let bad = t.database.as_ref().is_some_and(|d| {
            d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        });
        if bad {
            errs.at(
                format!("tenants.list.{name}.database"),
                "a database name is letters, digits, _ - and .",
            );
        }
    }
    Tenants {
        host_patterns,
        names,
        list,
        cert,
        header,
        defaults,
        odoo: admission::odoo(&spec.odoo, errs),
    }
}
