//! The change-freeze calendar (SPEC §5): which windows freeze which tenants and routes when,
//! until when a scope stays frozen, which requests are themselves changes and are refused
//! while frozen, and the break-glass limits. Pure: every answer takes `now` as an argument.
//! The compiled config section is [`Freeze`] (built by `config::freeze::compile`); manual
//! "stop the line" freezes live in the state store and are passed in as `extra` windows.
//! [`calendar`] lays out one window's occurrences; [`scope`] decides what a window covers.

pub mod calendar;
pub mod scope;

pub use calendar::{parse_schedule, Window, WindowKind, MAX_DURATION};
pub use scope::{Glob, Scope, Target};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// Links followed when overlapping or abutting occurrences extend a freeze (see
/// [`Freeze::active`]); a calendar frozen without pause reports the end of the last link.
pub const MAX_CHAIN: usize = 1000;

/// The compiled `freeze:` section. `Default` is no freeze at all.
#[derive(Debug, Clone, Default)]
pub struct Freeze {
    /// Configured windows, in config order.
    pub windows: Vec<Window>,
    /// Requests refused while their scope is frozen.
    pub block_requests: Vec<BlockRule>,
    /// Limits on break-glass exemptions.
    pub break_glass: BreakGlassPolicy,
}

/// A freeze in force for a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Active {
    /// The covering window whose current occurrence ends last.
    pub window: String,
    /// Start of that occurrence.
    pub start: DateTime<Utc>,
    /// When the target is really unfrozen: the end of the chain of covering occurrences that
    /// overlap or abut, from `now` on (for `Retry-After` and the 423 body).
    pub end: DateTime<Utc>,
}

/// A request that is itself a change (a module install, say), refused while frozen.
#[derive(Debug, Clone)]
pub struct BlockRule {
    /// Methods, upper-case; empty means any method.
    pub methods: Vec<String>,
    /// Matched (unanchored unless the pattern anchors) against the canonical path.
    pub path: regex::Regex,
}

impl BlockRule {
    /// True when a request with `method` on `canonical_path` is such a change. Methods
    /// compare ignoring ASCII case, so `post` cannot slip past a `POST` rule.
    pub fn matches(&self, method: &str, canonical_path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self.path.is_match(canonical_path)
    }
}

/// Limits on break-glass exemptions (`freeze.break_glass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlassPolicy {
    /// Longest exemption one break-glass may grant (default 4h).
    pub max_ttl: Duration,
    /// Approvals by a second, different freeze-admin: 0 or 1 (default 1).
    pub approvals: u8,
}

impl Default for BreakGlassPolicy {
    fn default() -> Self {
        BreakGlassPolicy {
            max_ttl: Duration::from_secs(4 * 3600),
            approvals: 1,
        }
    }
}

impl Freeze {
    /// The freeze in force for `target` at `now`, counting the configured windows and the
    /// manual ones in `extra`, or `None` when `target` may change.
    ///
    /// Among the windows whose scope covers `target` and that have an occurrence covering
    /// `now`, the one whose occurrence ends last names the freeze (the first in config order,
    /// then `extra` order, on a tie). Its `end` is then carried forward: while some covering
    /// window has an occurrence covering the current end (one that overlaps it or starts
    /// exactly at it), the end moves to that occurrence's end, for at most [`MAX_CHAIN`]
    /// links. So `end` is the first instant the target is unfrozen.
    pub fn active(
        &self,
        now: DateTime<Utc>,
        target: &Target<'_>,
        extra: &[Window],
    ) -> Option<Active> {
        let covering: Vec<&Window> = self
            .windows
            .iter()
            .chain(extra)
            .filter(|w| w.scope.covers(target))
            .collect();
        let (window, start, end) = covering
            .iter()
            .filter_map(|w| w.occurrence_at(now).map(|(s, e)| (*w, s, e)))
            .reduce(|best, next| if next.2 > best.2 { next } else { best })?;
        Some(Active {
            window: window.name.clone(),
            start,
            end: unfrozen_at(&covering, end),
        })
    }

    /// For status: every window's occurrence in force at `now` and its next one (configured
    /// and `extra` windows, whatever their scope), as `(window, start, end)`, ordered by
    /// start then name, at most `limit` of them.
    pub fn upcoming(
        &self,
        now: DateTime<Utc>,
        extra: &[Window],
        limit: usize,
    ) -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
        let mut all: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = self
            .windows
            .iter()
            .chain(extra)
            .flat_map(|w| {
                let spans = w.occurrence_at(now).into_iter().chain(w.next_after(now));
                spans.map(|(s, e)| (w.name.clone(), s, e))
            })
            .collect();
        all.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(limit);
        all
    }

    /// The first block rule matching a request, if any (the caller then asks [`Self::active`]
    /// for the request's route and tenant).
    pub fn blocked(&self, method: &str, canonical_path: &str) -> Option<&BlockRule> {
        self.block_requests
            .iter()
            .find(|r| r.matches(method, canonical_path))
    }
}

/// Follows overlapping and abutting occurrences of `windows` from `end` to the first instant
/// none of them covers.
fn unfrozen_at(windows: &[&Window], mut end: DateTime<Utc>) -> DateTime<Utc> {
    for _ in 0..MAX_CHAIN {
        let later = windows
            .iter()
            .filter_map(|w| w.occurrence_at(end))
            .map(|(_, e)| e)
            .max();
        match later {
            Some(e) if e > end => end = e,
            _ => break,
        }
    }
    end
}

#[cfg(test)]
mod active_tests;
#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod scope_tests;
#[cfg(test)]
mod tests;
