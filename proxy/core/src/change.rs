//! Change-risk classification (SPEC §5): every governance mutation is risk-increasing,
//! risk-reducing or neutral, and names what it touches (route, tenant) so a freeze scope can
//! be matched against it. A freeze refuses risk-increasing changes in its scope and lets
//! risk-reducing ones through, so a rollback always works while a ramp cannot advance.
//! [`reload_diff`] lists the classified changes between two configs, which is how a config
//! reload is judged as a whole.

use crate::canary::Weight;
use crate::config::Config;
use serde::Serialize;

/// How a change moves production risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Exposes more traffic to something new (weight up, ramp start or advance, pilot added,
    /// traffic moved to another pool).
    Increasing,
    /// Exposes less (rollback, weight down, pause, stop, pilot removed).
    Reducing,
    /// Changes nothing traffic sees (bookkeeping such as dropping an override Git replaced).
    Neutral,
}

/// What kind of change it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A canary weight change (API, ramp, guard or config).
    CanaryWeight,
    /// A route's canary pool replaced or added.
    CanaryPool,
    /// A pilot tenant added or removed.
    Pilot,
    /// A tenant excluded from or readmitted to a canary.
    Excluded,
    /// A tenant moved to other pools.
    TenantPool,
    /// A route's stable pool replaced.
    RoutePool,
    /// A ramp started, paused, resumed or stopped.
    Ramp,
    /// Bookkeeping: an override Git replaced was dropped.
    Override,
    /// A WASM policy's module (or its settings) changed.
    Policy,
    /// A tenant's or partner's rate limit changed.
    RateLimit,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What kind.
    pub kind: Kind,
    /// Its risk.
    pub risk: Risk,
    /// The route it touches (None: all routes).
    pub route: Option<String>,
    /// The tenant it touches (None: all tenants of the route).
    pub tenant: Option<String>,
    /// For humans: `routes.odoo.canary.weight 5 → 10`.
    pub detail: String,
}

/// A canary weight change from `from` to `to`.
pub fn canary_weight(from: Weight, to: Weight) -> Risk {
    match to.cmp(&from) {
        std::cmp::Ordering::Greater => Risk::Increasing,
        std::cmp::Ordering::Less => Risk::Reducing,
        std::cmp::Ordering::Equal => Risk::Neutral,
    }
}

fn change(
    kind: Kind,
    risk: Risk,
    route: Option<&str>,
    tenant: Option<&str>,
    detail: String,
) -> Change {
    Change {
        kind,
        risk,
        route: route.map(str::to_owned),
        tenant: tenant.map(str::to_owned),
        detail,
    }
}

fn tenant_names<'a>(cfg: &'a Config, idx: &[usize]) -> Vec<&'a str> {
    idx.iter()
        .filter_map(|i| cfg.tenants.names.get(*i).map(String::as_str))
        .collect()
}

fn pool_name(cfg: &Config, id: crate::config::PoolId) -> &str {
    cfg.pools.get(id.0).map_or("", |p| p.name.as_str())
}

/// The classified changes from `old` to `new` (routes matched by name, tenants by name,
/// pools compared by name). Canary weights are compared from `in_force` (the weight each
/// route runs at, runtime overrides included; a route missing there counts at its `old`
/// config weight) to the `new` config weight: a reload replaces any override whose config
/// value it changes. Changes SPEC §5 does not list as risky are not reported.
pub fn reload_diff(
    old: &Config,
    new: &Config,
    in_force: &std::collections::BTreeMap<String, Weight>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for r in &new.routes {
        let before = old.routes.iter().find(|o| o.name == r.name);
        let name = Some(r.name.as_str());
        if let Some(o) = before {
            let (a, b) = (pool_name(old, o.stable), pool_name(new, r.stable));
            if a != b {
                out.push(change(
                    Kind::RoutePool,
                    Risk::Increasing,
                    name,
                    None,
                    format!("routes.{}.upstream.stable {a} → {b}", r.name),
                ));
            }
        }
        let old_canary = before.and_then(|o| o.canary.as_ref());
        let Some((pool, c)) = &r.canary else { continue };
        let old_pool = old_canary.map(|(p, _)| pool_name(old, *p));
        if old_pool != Some(pool_name(new, *pool)) {
            let detail = format!(
                "routes.{}.upstream.canary {} → {}",
                r.name,
                old_pool.unwrap_or("none"),
                pool_name(new, *pool)
            );
            out.push(change(
                Kind::CanaryPool,
                Risk::Increasing,
                name,
                None,
                detail,
            ));
        }
        let old_config = old_canary.map_or(Weight::ZERO, |(_, oc)| oc.weight);
        // An override survives a reload that keeps its config value; otherwise the new config
        // value replaces whatever was in force.
        let old_weight = if old_config == c.weight {
            old_config
        } else {
            in_force.get(&r.name).copied().unwrap_or(old_config)
        };
        let risk = if old_config == c.weight {
            Risk::Neutral
        } else {
            canary_weight(old_weight, c.weight)
        };
        if risk != Risk::Neutral {
            out.push(change(
                Kind::CanaryWeight,
                risk,
                name,
                None,
                format!(
                    "routes.{}.canary.weight {old_weight} → {}",
                    r.name, c.weight
                ),
            ));
        }
        let (old_pilot, old_excl) = old_canary.map_or((Vec::new(), Vec::new()), |(_, oc)| {
            (
                tenant_names(old, &oc.pilot),
                tenant_names(old, &oc.excluded),
            )
        });
        for (list, old_list, kind, added, field) in [
            (
                tenant_names(new, &c.pilot),
                old_pilot,
                Kind::Pilot,
                Risk::Increasing,
                "pilot_tenants",
            ),
            (
                tenant_names(new, &c.excluded),
                old_excl,
                Kind::Excluded,
                Risk::Reducing,
                "excluded_tenants",
            ),
        ] {
            let removed = if added == Risk::Increasing {
                Risk::Reducing
            } else {
                Risk::Increasing
            };
            for t in list.iter().filter(|t| !old_list.contains(t)) {
                out.push(change(
                    kind,
                    added,
                    name,
                    Some(t),
                    format!("routes.{}.canary.{field} + {t}", r.name),
                ));
            }
            for t in old_list.iter().filter(|t| !list.contains(t)) {
                out.push(change(
                    kind,
                    removed,
                    name,
                    Some(t),
                    format!("routes.{}.canary.{field} - {t}", r.name),
                ));
            }
        }
    }
    for (i, t) in new.tenants.names.iter().enumerate() {
        let pools =
            |cfg: &Config, up: Option<(crate::config::PoolId, Option<crate::config::PoolId>)>| {
                up.map(|(s, c)| {
                    (
                        pool_name(cfg, s).to_owned(),
                        c.map(|c| pool_name(cfg, c).to_owned()),
                    )
                })
            };
        let now = pools(new, new.tenants.list.get(i).and_then(|x| x.upstream));
        let before = old
            .tenants
            .index(t)
            .and_then(|j| old.tenants.list.get(j))
            .and_then(|x| x.upstream);
        let was = pools(old, before);
        if old.tenants.index(t).is_some() && was != now {
            out.push(change(
                Kind::TenantPool,
                Risk::Increasing,
                None,
                Some(t),
                format!("tenants.list.{t}.upstream {was:?} → {now:?}"),
            ));
        }
        let old_rate = old
            .tenants
            .index(t)
            .and_then(|j| old.tenants.list.get(j))
            .map(|x| x.admission.rate);
        if let (Some(was), Some(tn)) = (old_rate, new.tenants.list.get(i)) {
            let detail = format!("tenants.list.{t}.rate");
            out.extend(rate_change(was, tn.admission.rate, None, Some(t), detail));
        }
    }
    for p in &new.partners {
        if let Some(o) = old.partners.iter().find(|o| o.name == p.name) {
            let detail = format!("partners.{}.rate", p.name);
            out.extend(rate_change(o.rate, p.rate, None, None, detail));
        }
    }
    out
}

/// Requests per second a limit allows over a burst window, for comparing limits.
fn allowance(l: Option<crate::gcra::Limit>) -> (f64, u32) {
    l.map_or((f64::INFINITY, u32::MAX), |l| {
        (f64::from(l.rate.limit) / l.rate.per.as_secs_f64(), l.burst)
    })
}

/// A rate limit loosened (higher rate or burst, or removed) is risk-increasing; tightened,
/// risk-reducing.
fn rate_change(
    was: Option<crate::gcra::Limit>,
    now: Option<crate::gcra::Limit>,
    route: Option<&str>,
    tenant: Option<&str>,
    what: String,
) -> Option<Change> {
    let ((r0, b0), (r1, b1)) = (allowance(was), allowance(now));
    let risk = if r1 > r0 || b1 > b0 {
        Risk::Increasing
    } else if r1 < r0 || b1 < b0 {
        Risk::Reducing
    } else {
        return None;
    };
    Some(change(
        Kind::RateLimit,
        risk,
        route,
        tenant,
        format!("{what} loosened or tightened: {was:?} → {now:?}"),
    ))
}

#[cfg(test)]
mod tests;
