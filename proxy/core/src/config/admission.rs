//! `tenants.defaults`, the per-tenant admission fields and `tenants.odoo`: how many requests
//! a tenant may have in flight and queued, its rate limit (GCRA), and the Odoo guard's
//! switches (database pinning, the database manager and who may reach it).

use super::server::{cidrs, size};
use super::Errors;
use crate::gcra::Limit;
use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Deserialize;

/// `rate:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    /// `200/s`, `1200/min`.
    pub limit: String,
    /// Requests allowed at once above the steady rate (default: one second's worth).
    pub burst: Option<u32>,
}

/// `tenants.defaults` as written (also the per-tenant override fields).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Requests in flight at once per tenant (default 64).
    pub max_in_flight: Option<u32>,
    /// Requests waiting for a slot per tenant (default 128); beyond: 503.
    pub queue: Option<u32>,
    /// Rate limit (default none).
    pub rate: Option<RateSpec>,
}

/// `tenants.odoo` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdooSpec {
    /// Refuse requests naming another database (default true).
    #[serde(default = "yes")]
    pub pin_database: bool,
    /// Block the database manager (default true).
    #[serde(default = "yes")]
    pub block_db_manager: bool,
    /// Client CIDRs that may reach the database manager.
    #[serde(default)]
    pub db_manager_from: Vec<String>,
    /// Largest JSON-RPC or form body inspected (default 1MiB); a larger one is refused (413).
    pub inspect_max: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for OdooSpec {
    fn default() -> Self {
        OdooSpec {
            pin_database: true,
            block_db_manager: true,
            db_manager_from: Vec::new(),
            inspect_max: None,
        }
    }
}

/// A tenant's compiled admission settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// In flight at once.
    pub max_in_flight: usize,
    /// Queued at most.
    pub queue: usize,
    /// Rate limit.
    pub rate: Option<Limit>,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            max_in_flight: 64,
            queue: 128,
            rate: None,
        }
    }
}

/// The compiled Odoo guard settings.
#[derive(Debug, Clone)]
pub struct OdooGuard {
    /// Pin each tenant to its database.
    pub pin_database: bool,
    /// Block the database manager.
    pub block_db_manager: bool,
    /// Who may reach it.
    pub db_manager_from: Vec<IpNet>,
    /// Largest body inspected.
    pub inspect_max: usize,
}

impl Default for OdooGuard {
    fn default() -> Self {
        OdooGuard {
            pin_database: true,
            block_db_manager: true,
            db_manager_from: Vec::new(),
            inspect_max: 1 << 20,
        }
    }
}

/// A `rate:` block as a GCRA limit (burst defaults to one period's worth).
pub(super) fn rate(r: &RateSpec, path: &str, errs: &mut Errors) -> Option<Limit> {
    let parsed = crate::units::parse_rate(&r.limit)
        .map_err(|m| errs.at(format!("{path}.limit"), m))
        .ok()?;
    let one_period = parsed.limit;
    let burst = r.burst.unwrap_or(one_period);
    if burst == 0 {
        errs.at(format!("{path}.burst"), "must be at least 1");
        return None;
    }
    Some(Limit {
        rate: parsed,
        burst,
    })
}

/// Compiles admission fields over a base (the defaults, or the built-in defaults).
pub fn admission(spec: &DefaultsSpec, base: Admission, path: &str, errs: &mut Errors) -> Admission {
    let a = Admission {
        max_in_flight: spec
            .max_in_flight
            .map_or(base.max_in_flight, |n| n as usize),
        queue: spec.queue.map_or(base.queue, |n| n as usize),
        rate: match &spec.rate {
            Some(r) => rate(r, &format!("{path}.rate"), errs),
            None => base.rate,
        },
    };
    if a.max_in_flight == 0 {
        errs.at(format!("{path}.max_in_flight"), "must be at least 1");
    }
    a
}

/// Compiles `tenants.odoo`.
pub fn odoo(spec: &OdooSpec, errs: &mut Errors) -> OdooGuard {
    OdooGuard {
        pin_database: spec.pin_database,
        block_db_manager: spec.block_db_manager,
        db_manager_from: cidrs(&spec.db_manager_from, "tenants.odoo.db_manager_from", errs),
        inspect_max: usize::try_from(size(
            &spec.inspect_max,
            1 << 20,
            "tenants.odoo.inspect_max",
            errs,
        ))
        .unwrap_or(usize::MAX),
    }
}
