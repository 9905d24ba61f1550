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
pub fn judge(shared: &Shared, old: &Config, new: &Config, hash: &str) -> Result<Vec<String>, Held> {
    let mut exempt: Vec<String> = Vec::new();
    let mut frozen = Vec::new();
    let mut until: Option<(String, chrono::DateTime<chrono::Utc>)> = None;
    for c in reload_diff(old, new) {
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

/// True when a held reload may be tried again: its window has ended, or a break-glass is
/// active (the reload then finds out whether it covers the held changes).
pub fn may_retry(shared: &Shared, held: &Held, now: chrono::DateTime<chrono::Utc>) -> bool {
    let ended = chrono::DateTime::parse_from_rfc3339(&held.until).is_ok_and(|u| now >= u);
    ended
        || shared
            .freeze
            .load()
            .glass
            .iter()
            .any(|(g, _)| g.status(now) == super::GlassStatus::Active)
}
