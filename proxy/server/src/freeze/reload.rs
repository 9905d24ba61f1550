//! Judging a config reload against the freeze: the classified difference between the config
//! in force and the new one (`switchyard_core::change::reload_diff`); every risk-increasing
//! change asks the gate. One frozen change holds the whole reload (nothing half-applied);
//! changes exempted by break-glass let it through with the exemptions named in the audit.

use super::Gate;
use crate::live::{Held, Shared};
use switchyard_core::change::{reload_diff, Risk};
use switchyard_core::config::Config;
use switchyard_core::freeze::Target;

/// The break-glass ids the reload goes through under, or the hold.
pub fn judge(
    shared: &Shared,
    old_snap: &crate::live::Snapshot,
    g: &crate::live::Generation,
) -> Result<Vec<String>, Held> {
    let (old, new, hash): (&Config, &Config, &str) = (&old_snap.config, &g.config, &g.hash);
    let mut exempt: Vec<String> = Vec::new();
    let mut frozen = Vec::new();
    let mut until: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
    // Weights are judged from what is in force (a runtime override included), so a commit
    // cannot undo a rollback by dropping its override while frozen.
    let in_force: std::collections::BTreeMap<String, switchyard_core::canary::Weight> = {
        let snap = shared.live.load();
        snap.config
            .routes
            .iter()
            .zip(&snap.canary)
            .map(|(r, e)| (r.name.clone(), e.weight))
            .collect()
    };
    let mut changes = reload_diff(old, new, &in_force);
    changes.extend(policy_changes(old_snap, g));
    for c in changes {
        if c.risk != Risk::Increasing {
            continue;
        }
        let target = Target {
            route: c.route.as_deref(),
            tenant: c.tenant.as_deref(),
        };
        match shared.gate(&target) {
            Gate::Open => {}
            Gate::Exempt(id) => {
                if !exempt.contains(&id) {
                    exempt.push(id);
                }
            }
            Gate::Frozen(a) => {
                if until.as_ref().is_none_or(|(_, end)| a.end > *end) {
                    until = Some((a.window, a.end));
                }
                frozen.push(c);
            }
        }
    }
    match until {
        None => Ok(exempt),
        Some((window, end)) => Err(Held {
            hash: hash.to_owned(),
            window,
            until: end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            changes: frozen,
        }),
    }
}

/// True when a held reload may be tried again: none of its held changes is frozen any more
/// (the window ended, a manual freeze was lifted, or a break-glass now exempts them all).
pub fn may_retry(shared: &Shared, held: &Held) -> bool {
    held.changes.iter().all(|c| {
        let target = Target {
            route: c.route.as_deref(),
            tenant: c.tenant.as_deref(),
        };
        !matches!(shared.gate(&target), Gate::Frozen(_))
    })
}

/// A policy whose module changed (a new slot was compiled for it) is risk-increasing on every
/// route that runs it.
fn policy_changes(
    old: &crate::live::Snapshot,
    g: &crate::live::Generation,
) -> Vec<switchyard_core::change::Change> {
    use switchyard_core::change::{Change, Kind};
    let mut out = Vec::new();
    for (i, p) in g.config.policies.iter().enumerate() {
        let was = old
            .config
            .policies
            .iter()
            .position(|o| o.name == p.name)
            .map(|j| &old.policies[j]);
        if was.is_some_and(|w| std::sync::Arc::ptr_eq(w, &g.policies[i])) {
            continue;
        }
        let routes: Vec<&str> = g
            .config
            .routes
            .iter()
            .filter(|r| r.policies.contains(&i))
            .map(|r| r.name.as_str())
            .collect();
        for route in if routes.is_empty() {
            vec![None]
        } else {
            routes.into_iter().map(Some).collect()
        } {
            out.push(Change {
                kind: Kind::Policy,
                risk: Risk::Increasing,
                route: route.map(str::to_owned),
                tenant: None,
                detail: format!("policies.{} module or settings changed", p.name),
            });
        }
    }
    out
}
