//! The change freeze at run time (SPEC §5): manual "stop the line" freezes and break-glass
//! exemptions, kept in the state backend (namespaces [`NS_FREEZES`], [`NS_GLASS`]) and held
//! here parsed ([`FreezeState`]), and [`gate`] — the one question every governed change and
//! every `block_requests` match asks: is this target frozen now, and does an active
//! break-glass exempt it? The calendar itself is pure (`switchyard_core::freeze`).

pub mod records;
pub mod reload;

use chrono::{DateTime, Utc};
pub use records::{BreakGlass, GlassStatus, ManualFreeze, ScopeRecord};
use switchyard_core::freeze::{Active, Freeze, Glob, Scope, Target, Window};

/// State-backend namespace of manual freezes.
pub const NS_FREEZES: &str = "freezes";
/// State-backend namespace of break-glass exemptions.
pub const NS_GLASS: &str = "break-glass";

/// Manual freezes and break-glass exemptions as last read from the backend.
#[derive(Debug, Default)]
pub struct FreezeState {
    /// Manual freezes with the windows they make.
    pub manual: Vec<ManualFreeze>,
    /// Their windows (same order), passed to the calendar as extra windows.
    pub windows: Vec<Window>,
    /// Break-glass requests and exemptions with their compiled scopes.
    pub glass: Vec<(BreakGlass, Scope)>,
}

impl FreezeState {
    /// Builds the state from raw backend values; unreadable entries are skipped and named.
    pub fn parse(
        freezes: impl IntoIterator<Item = (String, String)>,
        glass: impl IntoIterator<Item = (String, String)>,
    ) -> (FreezeState, Vec<String>) {
        let mut st = FreezeState::default();
        let mut bad = Vec::new();
        for (id, raw) in freezes {
            match serde_json::from_str::<ManualFreeze>(&raw)
                .map_err(|e| e.to_string())
                .and_then(|f| Ok((f.window()?, f)))
            {
                Ok((w, f)) => {
                    st.windows.push(w);
                    st.manual.push(f);
                }
                Err(e) => bad.push(format!("{NS_FREEZES}/{id}: {e}")),
            }
        }
        for (id, raw) in glass {
            match serde_json::from_str::<BreakGlass>(&raw)
                .map_err(|e| e.to_string())
                .and_then(|g| Ok((g.scope.compile()?, g)))
            {
                Ok((scope, g)) => st.glass.push((g, scope)),
                Err(e) => bad.push(format!("{NS_GLASS}/{id}: {e}")),
            }
        }
        (st, bad)
    }
}

/// What the freeze says about a risk-increasing change (or a blocked request) to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Not frozen.
    Open,
    /// Frozen, but this active break-glass exempts it (its id goes into the audit entry).
    Exempt(String),
    /// Frozen.
    Frozen(Active),
}

/// True when a break-glass scope exempts `target`. The opposite of a freeze's caution: a
/// change reaching wider than the exemption (a route-wide change under a tenant-scoped
/// break-glass) is *not* exempt.
pub fn exempts(scope: &Scope, target: &Target<'_>) -> bool {
    let axis = |globs: &[Glob], name: Option<&str>| match name {
        _ if globs.is_empty() => true,
        Some(n) => globs.iter().any(|g| g.matches(n)),
        None => false,
    };
    axis(scope.tenants(), target.tenant) && axis(scope.routes(), target.route)
}

/// The freeze's answer for `target` at `now`.
pub fn gate(freeze: &Freeze, st: &FreezeState, now: DateTime<Utc>, target: &Target<'_>) -> Gate {
    let Some(active) = freeze.active(now, target, &st.windows) else {
        return Gate::Open;
    };
    st.glass
        .iter()
        .find(|(g, scope)| g.status(now) == GlassStatus::Active && exempts(scope, target))
        .map_or(Gate::Frozen(active), |(g, _)| Gate::Exempt(g.id.clone()))
}

/// A new id for a freeze or break-glass: a prefix and 12 hex digits.
pub fn new_id(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 13);
    s.push_str(prefix);
    s.push('-');
    crate::ctx::push_hex(&mut s, u128::from(fastrand::u64(..)), 12);
    s
}

#[cfg(test)]
mod tests;
