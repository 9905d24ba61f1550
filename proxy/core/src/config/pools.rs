//! `pools:` — named sets of upstream endpoints with their health check and timeouts. Routes
//! refer to pools by name; the compiler turns names into [`PoolId`] indexes.

use super::server::duration;
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// One pool as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// `http://host:port` endpoints, used round-robin while healthy.
    pub endpoints: Vec<String>,
    /// Active health check.
    pub health: Option<HealthSpec>,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: TimeoutsSpec,
    /// Owners: only these tenants' requests may ever land here.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Requests in flight to the pool at once (its Odoo workers); beyond, tenants queue
    /// fairly. Default: unlimited.
    pub max_in_flight: Option<u32>,
}

/// `health:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    /// Path probed with GET; 2xx/3xx is healthy.
    pub path: String,
    /// Probe period (default 5s).
    pub interval: Option<String>,
    /// Probe timeout (default 1s).
    pub timeout: Option<String>,
}

/// `timeouts:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeoutsSpec {
    /// TCP connect timeout (default 1s).
    pub connect: Option<String>,
    /// Time until the upstream's response head (default 60s): 504 beyond.
    pub request: Option<String>,
}

/// Index of a pool in [`super::Config::pools`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolId(pub usize);

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// As written in the config (metric label).
    pub url: String,
    /// `host:port` to connect to.
    pub authority: String,
}

/// Compiled health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Probe path.
    pub path: String,
    /// Period.
    pub interval: Duration,
    /// Timeout.
    pub timeout: Duration,
}

/// A compiled pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Config name.
    pub name: String,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
    /// Health check.
    pub health: Option<HealthCheck>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Response-head timeout.
    pub request_timeout: Duration,
    /// Owning tenants (indexes into `tenants.names`, sorted); empty: shared.
    pub owners: Vec<usize>,
    /// Requests in flight at once (None: unlimited).
    pub max_in_flight: Option<usize>,
}

impl Pool {
    /// True when a request of `tenant` may land here.
    pub fn admits(&self, tenant: Option<usize>) -> bool {
        self.owners.is_empty() || tenant.is_some_and(|t| self.owners.binary_search(&t).is_ok())
    }
}

fn endpoint(raw: &str, path: &str, errs: &mut Errors) -> Option<Endpoint> {
    let Some(rest) = raw.strip_prefix("http://") else {
        errs.at(
            path,
            format!("invalid endpoint {raw:?} (expected http://host:port)"),
        );
        return None;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    match crate::host::parse_authority(rest) {
        Ok(a) if !rest.contains('/') => {
            let authority = format!("{}:{}", a.host, a.port.unwrap_or(80));
            Some(Endpoint {
                url: raw.to_owned(),
                authority,
            })
        }
        _ => {
            errs.at(
                path,
                format!("invalid endpoint {raw:?} (expected http://host:port, no path)"),
            );
            None
        }
    }
}

/// Compiles `pools:`, returning the pools and the name → id map routes resolve against.
pub fn compile(
    spec: &BTreeMap<String, PoolSpec>,
    errs: &mut Errors,
) -> (Vec<Pool>, HashMap<String, PoolId>) {
    let mut pools = Vec::new();
    let mut ids = HashMap::new();
    for (name, p) in spec {
        let path = format!("pools.{name}");
        if p.endpoints.is_empty() {
            errs.at(
                format!("{path}.endpoints"),
                "a pool needs at least one endpoint",
            );
        }
        let endpoints = p
            .endpoints
            .iter()
            .enumerate()
            .filter_map(|(i, e)| endpoint(e, &format!("{path}.endpoints[{i}]"), errs))
            .collect();
        // A duration field of this pool, by its path under `pools.<name>`, with its default.
        let mut dur = |v: &Option<String>, secs: u64, field: &str| {
            duration(
                v,
                Duration::from_secs(secs),
                &format!("{path}.{field}"),
                errs,
            )
        };
        let health = p.health.as_ref().map(|h| HealthCheck {
            path: h.path.clone(),
            interval: dur(&h.interval, 5, "health.interval"),
            timeout: dur(&h.timeout, 1, "health.timeout"),
        });
        let connect_timeout = dur(&p.timeouts.connect, 1, "timeouts.connect");
        let request_timeout = dur(&p.timeouts.request, 60, "timeouts.request");
        if p.health.as_ref().is_some_and(|h| !h.path.starts_with('/')) {
            errs.at(format!("{path}.health.path"), "must start with '/'");
        }
        ids.insert(name.clone(), PoolId(pools.len()));
        pools.push(Pool {
            name: name.clone(),
            endpoints,
            health,
            connect_timeout,
            request_timeout,
            owners: Vec::new(),
            max_in_flight: p.max_in_flight.map(|n| n as usize),
        });
        if p.max_in_flight == Some(0) {
            errs.at(format!("{path}.max_in_flight"), "must be at least 1");
        }
    }
    (pools, ids)
}

/// Resolves `pools.<name>.tenants` against the tenant names.
pub fn resolve_owners(
    spec: &BTreeMap<String, PoolSpec>,
    pools: &mut [Pool],
    tenants: &super::Tenants,
    errs: &mut Errors,
) {
    for (pool, (name, p)) in pools.iter_mut().zip(spec) {
        for (i, t) in p.tenants.iter().enumerate() {
            match tenants.index(t) {
                Some(idx) => pool.owners.push(idx),
                None => errs.at(
                    format!("pools.{name}.tenants[{i}]"),
                    format!("unknown tenant {t:?}"),
                ),
            }
        }
        pool.owners.sort_unstable();
        pool.owners.dedup();
    }
}
