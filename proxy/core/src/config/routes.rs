//! `routes:` — which requests go where, first match wins. A route matches on the canonical
//! host (exact or `*.suffix`), a canonical-path prefix and optionally methods, and names the
//! pool that serves its stable release and, optionally, the pool of its canary release with
//! the split settings ([`super::canary`]).

use super::canary::{Canary, CanarySpec};
use super::pools::PoolId;
use super::tenants::Tenants;
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashMap;

/// One route as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Unique name (metric label, admin API key).
    pub name: String,
    /// What the route matches.
    #[serde(rename = "match")]
    pub matcher: MatchSpec,
    /// Where matching requests go.
    pub upstream: UpstreamSpec,
    /// How traffic splits between stable and canary (needs `upstream.canary`).
    pub canary: Option<CanarySpec>,
    /// Partner webhooks arrive here: a request no partner matches is refused (404).
    #[serde(default)]
    pub webhooks: bool,
    /// WASM policies run on this route, in order (names in `policies:`).
    #[serde(default)]
    pub policies: Vec<String>,
}

/// `match:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Exact host or `*.suffix` (any number of labels before the suffix).
    pub host: Option<String>,
    /// Prefix of the canonical path (default `/`).
    pub path_prefix: Option<String>,
    /// Methods (default any).
    pub methods: Option<Vec<String>>,
}

/// `upstream:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// The pool serving the stable release.
    pub stable: String,
    /// The pool serving the canary release.
    pub canary: Option<String>,
}

/// How a route matches the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostMatch {
    /// Any host.
    Any,
    /// This exact canonical host.
    Exact(String),
    /// Hosts ending in this suffix (including its leading dot).
    Suffix(String),
}

impl HostMatch {
    /// True when the canonical `host` matches.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostMatch::Any => true,
            HostMatch::Exact(h) => h == host,
            HostMatch::Suffix(s) => host.len() > s.len() && host.ends_with(s.as_str()),
        }
    }
}

/// A compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Name.
    pub name: String,
    /// Host match.
    pub host: HostMatch,
    /// Canonical path prefix.
    pub path_prefix: String,
    /// Allowed methods, upper case (None: any).
    pub methods: Option<Vec<String>>,
    /// Stable pool.
    pub stable: PoolId,
    /// Canary pool and split settings.
    pub canary: Option<(PoolId, Canary)>,
    /// Only partner webhooks are taken here.
    pub webhooks: bool,
    /// Policies run here (indexes into `config.policies`).
    pub policies: Vec<usize>,
}

impl Route {
    /// True when this route takes the request.
    pub fn matches(&self, host: &str, path: &str, method: &str) -> bool {
        self.host.matches(host)
            && path.starts_with(self.path_prefix.as_str())
            && self
                .methods
                .as_ref()
                .is_none_or(|m| m.iter().any(|x| x == method))
    }
}

/// A host match (`exact` or `*.suffix`, no port) as written at `path`.
pub(super) fn host_match(raw: Option<&str>, path: &str, errs: &mut Errors) -> HostMatch {
    let Some(raw) = raw else {
        return HostMatch::Any;
    };
    let lower = raw.to_ascii_lowercase();
    if let Some(suffix) = lower.strip_prefix('*') {
        if suffix.starts_with('.') && crate::host::parse_authority(&suffix[1..]).is_ok() {
            return HostMatch::Suffix(suffix.to_owned());
        }
    } else if crate::host::parse_authority(&lower).is_ok_and(|a| a.port.is_none()) {
        return HostMatch::Exact(lower);
    }
    errs.at(
        path,
        format!("invalid host {raw:?} (expected a host name or *.suffix, no port)"),
    );
    HostMatch::Any
}

/// A pool named at `path`, or an error there.
pub(super) fn pool_ref(
    name: &str,
    pools: &HashMap<String, PoolId>,
    path: &str,
    errs: &mut Errors,
) -> PoolId {
    pools.get(name).copied().unwrap_or_else(|| {
        errs.at(path, format!("unknown pool {name:?}"));
        PoolId(0)
    })
}

fn canary(
    r: &RouteSpec,
    path: &str,
    pools: &HashMap<String, PoolId>,
    tenants: &Tenants,
    errs: &mut Errors,
) -> Option<(PoolId, Canary)> {
    let Some(pool) = &r.upstream.canary else {
        if r.canary.is_some() {
            errs.at(
                format!("{path}.canary"),
                "needs upstream.canary (the canary pool)",
            );
        }
        return None;
    };
    let pool = pool_ref(pool, pools, &format!("{path}.upstream.canary"), errs);
    let spec = r.canary.clone().unwrap_or_default();
    Some((
        pool,
        super::canary::compile(&spec, tenants, &format!("{path}.canary"), errs),
    ))
}

/// Compiles `routes:` against the pool and tenant names.
pub fn compile(
    spec: &[RouteSpec],
    pools: &HashMap<String, PoolId>,
    tenants: &Tenants,
    errs: &mut Errors,
) -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    if spec.is_empty() {
        errs.at("routes", "at least one route is needed");
    }
    for (i, r) in spec.iter().enumerate() {
        let path = format!("routes[{i}]");
        if r.name.is_empty()
            || !r
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            errs.at(
                format!("{path}.name"),
                format!("invalid route name {:?} (letters, digits, - and _)", r.name),
            );
        }
        if routes.iter().any(|o| o.name == r.name) {
            errs.at(
                format!("{path}.name"),
                format!("duplicate route name {:?}", r.name),
            );
        }
        let prefix = r.matcher.path_prefix.clone().unwrap_or_else(|| "/".into());
        match crate::path::canonicalize(&prefix) {
            Ok(c) if c == prefix => {}
            _ => errs.at(format!("{path}.match.path_prefix"), format!("{prefix:?} is not a canonical path (starts with '/', no dot-segments, no '//')")),
        }
        let methods = r
            .matcher
            .methods
            .as_ref()
            .map(|ms| ms.iter().map(|m| m.to_ascii_uppercase()).collect());
        let stable = pool_ref(
            &r.upstream.stable,
            pools,
            &format!("{path}.upstream.stable"),
            errs,
        );
        let canary = canary(r, &path, pools, tenants, errs);
        routes.push(Route {
            name: r.name.clone(),
            host: host_match(
                r.matcher.host.as_deref(),
                &format!("{path}.match.host"),
                errs,
            ),
            path_prefix: prefix,
            methods,
            stable,
            canary,
            webhooks: r.webhooks,
            policies: Vec::new(),
        });
    }
    routes
}
