//! The configuration file: raw serde `*Spec` types (unknown keys refused) parsed from YAML,
//! then compiled into the typed [`Config`] the proxy runs on. Compilation resolves every
//! reference and collects *every* problem with its config path before failing, so `check`
//! and a refused reload can say all that is wrong at once. One module per config section.

pub mod admin;
pub mod admission;
pub mod canary;
pub mod freeze;
pub mod observability;
pub mod ownership;
pub mod partners;
pub mod policies;
pub mod pools;
pub mod routes;
pub mod secrets;
pub mod server;
pub mod spool;
pub mod state;
pub mod tenants;

use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub use admin::{AdminConfig, Role, Token};
pub use canary::{Canary, Sticky};
pub use observability::{AccessLogTarget, Observability};
pub use partners::{Dedupe, FailMode, OnLimit, Partner};
pub use policies::PolicyConfig;
pub use pools::{Endpoint, HealthCheck, Pool, PoolId};
pub use routes::{HostMatch, Route};
pub use server::{Limits, ServerConfig, TlsConfig};
pub use spool::SpoolConfig;
pub use state::Backend;
pub use state::StateConfig;
pub use tenants::{HostPattern, Tenant, Tenants};

/// The whole config file as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// Data-plane listeners and limits.
    pub server: server::ServerSpec,
    /// Admin API listener and tokens.
    #[serde(default)]
    pub admin: admin::AdminSpec,
    /// Where switchyard keeps its state.
    #[serde(default)]
    pub state: state::StateSpec,
    /// Named upstream pools.
    pub pools: BTreeMap<String, pools::PoolSpec>,
    /// Tenants and how they are identified.
    #[serde(default)]
    pub tenants: tenants::TenantsSpec,
    /// Routes, first match wins.
    pub routes: Vec<routes::RouteSpec>,
    /// Partners whose webhooks are governed.
    #[serde(default)]
    pub partners: BTreeMap<String, partners::PartnerSpec>,
    /// The durable webhook spool.
    #[serde(default)]
    pub spool: spool::SpoolSpec,
    /// Change-freeze windows, blocked requests and break-glass limits.
    #[serde(default)]
    pub freeze: freeze::FreezeSpec,
    /// WASM routing policies.
    #[serde(default)]
    pub policies: BTreeMap<String, policies::PolicySpec>,
    /// Access log and response headers.
    #[serde(default)]
    pub observability: observability::ObservabilitySpec,
}

/// The compiled, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data-plane settings.
    pub server: ServerConfig,
    /// Admin API settings.
    pub admin: AdminConfig,
    /// State backend settings.
    pub state: StateConfig,
    /// Pools, indexed by [`PoolId`].
    pub pools: Vec<Pool>,
    /// Tenant identification.
    pub tenants: Tenants,
    /// Routes in match order.
    pub routes: Vec<Route>,
    /// Partners, in name order.
    pub partners: Vec<Partner>,
    /// Spool settings.
    pub spool: SpoolConfig,
    /// The change-freeze calendar.
    pub freeze: crate::freeze::Freeze,
    /// WASM policies (modules compiled by the server), in name order.
    pub policies: Vec<PolicyConfig>,
    /// Observability settings.
    pub observability: Observability,
}

/// One problem in a config file, with the path of the value at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path (`tenants.list.acme`, `routes[0].upstream.stable`); empty for the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Where secrets come from; injected so that compilation itself does no I/O.
pub trait Env {
    /// An environment variable.
    fn var(&self, name: &str) -> Option<String>;
    /// A file's contents.
    fn read_file(&self, path: &Path) -> std::io::Result<String>;
}

/// Collects errors while compiling.
#[derive(Default)]
pub struct Errors(pub Vec<ConfigError>);

impl Errors {
    /// Records a problem at `path`.
    pub fn at(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Parses YAML into the raw spec; the error names the path of the first structural problem.
pub fn parse(yaml: &str) -> Result<ConfigSpec, Vec<ConfigError>> {
    let de = serde_yaml_ng::Deserializer::from_str(yaml);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        // serde_yaml_ng says "<its own path>: <problem> at line L column C": keep the problem
        // and the position (they help humans), drop its path (ours is more precise).
        let inner = e.inner().to_string();
        let message = match inner.split_once(": ") {
            Some((p, rest)) if !p.contains(' ') => rest.to_owned(),
            _ => inner,
        };
        vec![ConfigError { path, message }]
    })
}

/// Compiles a spec into a config, collecting every problem.
pub fn compile(spec: &ConfigSpec, env: &dyn Env) -> Result<Config, Vec<ConfigError>> {
    let mut errs = Errors::default();
    let server = server::compile(&spec.server, &mut errs);
    let admin = admin::compile(&spec.admin, env, &mut errs);
    let state = state::compile(&spec.state, &mut errs);
    let (mut pools, pool_ids) = pools::compile(&spec.pools, &mut errs);
    let tenants = tenants::compile(&spec.tenants, &pool_ids, &mut errs);
    pools::resolve_owners(&spec.pools, &mut pools, &tenants, &mut errs);
    let mut routes = routes::compile(&spec.routes, &pool_ids, &tenants, &mut errs);
    ownership::check(&pools, &tenants, &routes, &mut errs);
    let partners = partners::compile(&spec.partners, env, &mut errs);
    let spool = spool::compile(&spec.spool, &mut errs);
    let freeze = freeze::compile(&spec.freeze, &mut errs);
    let policies = policies::compile(&spec.policies, &mut errs);
    for (i, (route, r)) in routes.iter_mut().zip(&spec.routes).enumerate() {
        for (j, name) in r.policies.iter().enumerate() {
            match policies.iter().position(|p| &p.name == name) {
                Some(k) => route.policies.push(k),
                None => errs.at(
                    format!("routes[{i}].policies[{j}]"),
                    format!("unknown policy {name:?}"),
                ),
            }
        }
    }
    let observability = observability::compile(&spec.observability);
    if errs.0.is_empty() {
        Ok(Config {
            server,
            admin,
            state,
            pools,
            tenants,
            routes,
            partners,
            spool,
            freeze,
            policies,
            observability,
        })
    } else {
        Err(errs.0)
    }
}

/// Parses and compiles in one step.
pub fn load(yaml: &str, env: &dyn Env) -> Result<Config, Vec<ConfigError>> {
    compile(&parse(yaml)?, env)
}

/// The JSON Schema of the config file.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigSpec)).unwrap_or_default()
}

#[cfg(test)]
mod tests;
