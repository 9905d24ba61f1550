//! `tenants:` — who the tenants are and how a request names one. A host pattern such as
//! `{tenant}.erp.example.com` yields the tenant from one DNS label of the canonical host; a
//! name not in `list` is an unknown tenant (404), never a default one. A tenant may name its
//! own pools (`upstream:`), which then serve it on every route instead of the route's pools.

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
    /// Known tenants by name.
    #[serde(default)]
    pub list: BTreeMap<String, TenantSpec>,
}

/// One identification source as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifySpec {
    /// Host pattern with one `{tenant}` label, e.g. `{tenant}.erp.example.com`.
    pub host: String,
}

/// One tenant as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// The tenant's own pools, used instead of each route's.
    pub upstream: Option<TenantUpstreamSpec>,
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
    pub fn extract<'h>(&self, host: &'h str) -> Option<&'h str> {
        let mid = host
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        (!mid.is_empty() && !mid.contains('.')).then_some(mid)
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

/// Compiles `tenants:` against the pool names.
pub fn compile(spec: &TenantsSpec, pools: &HashMap<String, PoolId>, errs: &mut Errors) -> Tenants {
    let mut host_patterns = Vec::new();
    for (i, id) in spec.identify.iter().enumerate() {
        let path = format!("tenants.identify[{i}].host");
        let raw = id.host.to_ascii_lowercase();
        match raw.split_once("{tenant}") {
            Some((prefix, suffix)) if !suffix.contains("{tenant}") && (prefix.is_empty() || prefix.ends_with('.')) && (suffix.is_empty() || suffix.starts_with('.')) => {
                host_patterns.push(HostPattern { prefix: prefix.into(), suffix: suffix.into() });
            }
            _ => errs.at(path, format!("invalid host pattern {:?} (expected one whole label `{{tenant}}`, e.g. {{tenant}}.erp.example.com)", id.host)),
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
    if !names.is_empty() && host_patterns.is_empty() {
        errs.at(
            "tenants.identify",
            "tenants are listed but no identify source is configured",
        );
    }
    let list = spec
        .list
        .iter()
        .map(|(name, t)| Tenant {
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
    Tenants {
        host_patterns,
        names,
        list,
    }
}
