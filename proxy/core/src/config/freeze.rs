//! `freeze:` — the change-freeze calendar as written: recurring windows (cron `schedule`,
//! `duration` and IANA `time_zone`, the Argo CD sync-window fields) and absolute ones
//! (`start`/`end`) with their tenant/route scope, the requests that are themselves changes,
//! and the break-glass limits. Compiled into [`Freeze`]; the calendar logic lives in
//! `crate::freeze`.

use super::server::duration;
use super::Errors;
use crate::freeze::{
    parse_schedule, BlockRule, BreakGlassPolicy, Freeze, Glob, Scope, Window, WindowKind,
    MAX_DURATION,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;

/// `freeze:` as written; the default freezes nothing.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// Freeze windows.
    #[serde(default)]
    pub windows: Vec<WindowSpec>,
    /// Requests refused while their scope is frozen.
    #[serde(default)]
    pub block_requests: Vec<BlockRuleSpec>,
    /// Break-glass limits.
    #[serde(default)]
    pub break_glass: BreakGlassSpec,
}

/// `freeze.windows[]` as written: either `schedule` + `duration` (+ `time_zone`) or
/// `start` + `end`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Unique, non-empty name.
    pub name: String,
    /// 5-field cron expression (minute hour day-of-month month day-of-week).
    pub schedule: Option<String>,
    /// Length of each occurrence (e.g. `288h`).
    pub duration: Option<String>,
    /// IANA zone the schedule is read in (default UTC).
    pub time_zone: Option<String>,
    /// RFC 3339 start with offset (e.g. `2026-12-28T00:00:00+01:00`).
    pub start: Option<String>,
    /// RFC 3339 end with offset, after `start`.
    pub end: Option<String>,
    /// What the window freezes (default everything).
    #[serde(default)]
    pub scope: ScopeSpec,
}

/// `scope:` as written; an empty or missing list means all.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    /// Tenant globs (`*` matches any run of characters).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Route globs.
    #[serde(default)]
    pub routes: Vec<String>,
}

/// `freeze.block_requests[]` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRuleSpec {
    /// Methods (any case; empty means any).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Regular expression (Rust `regex` syntax) over the canonical path.
    pub path_regex: String,
}

/// `freeze.break_glass:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakGlassSpec {
    /// Longest exemption (default 4h).
    pub max_ttl: Option<String>,
    /// Approvals by a second freeze-admin, 0 or 1 (default 1).
    pub approvals: Option<u8>,
}

/// Compiles `freeze:`.
pub fn compile(spec: &FreezeSpec, errs: &mut Errors) -> Freeze {
    let mut names = HashSet::new();
    let windows = spec
        .windows
        .iter()
        .enumerate()
        .filter_map(|(i, w)| window(w, &mut names, &format!("freeze.windows[{i}]"), errs))
        .collect();
    let block_requests = spec
        .block_requests
        .iter()
        .enumerate()
        .filter_map(|(i, r)| block_rule(r, &format!("freeze.block_requests[{i}]"), errs))
        .collect();
    Freeze {
        windows,
        block_requests,
        break_glass: break_glass(&spec.break_glass, errs),
    }
}

fn window<'a>(
    w: &'a WindowSpec,
    names: &mut HashSet<&'a str>,
    path: &str,
    errs: &mut Errors,
) -> Option<Window> {
    if w.name.trim().is_empty() {
        errs.at(format!("{path}.name"), "must not be empty");
    } else if !names.insert(w.name.as_str()) {
        errs.at(
            format!("{path}.name"),
            format!("duplicate window name {:?}", w.name),
        );
    }
    let scope = scope(&w.scope, &format!("{path}.scope"), errs);
    let present: Vec<&str> = [
        ("schedule", w.schedule.is_some()),
        ("duration", w.duration.is_some()),
        ("time_zone", w.time_zone.is_some()),
        ("start", w.start.is_some()),
        ("end", w.end.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect();
    let kind = match present.as_slice() {
        ["schedule", "duration"] | ["schedule", "duration", "time_zone"] => {
            recurring(w, path, errs)
        }
        ["start", "end"] => fixed(w, path, errs),
        _ => {
            let found = if present.is_empty() {
                "none of them".to_owned()
            } else {
                present.join(", ")
            };
            errs.at(
                path,
                format!("needs either schedule + duration (time_zone optional) or start + end; found {found}"),
            );
            None
        }
    }?;
    Some(Window {
        name: w.name.clone(),
        kind,
        scope,
    })
}

fn recurring(w: &WindowSpec, path: &str, errs: &mut Errors) -> Option<WindowKind> {
    let schedule = w
        .schedule
        .as_deref()
        .map(|s| parse_schedule(s).map_err(|m| errs.at(format!("{path}.schedule"), m)));
    let zone = match w.time_zone.as_deref() {
        None => Ok(Tz::UTC),
        Some(z) => z.parse::<Tz>().map_err(|_| {
            errs.at(
                format!("{path}.time_zone"),
                format!("unknown time zone {z:?}"),
            );
        }),
    };
    let at = format!("{path}.duration");
    // A duration that fails to parse is already reported; any positive stand-in will do.
    let length = duration(&w.duration, Duration::from_secs(1), &at, errs);
    if length.is_zero() {
        errs.at(&at, "must be more than 0");
    } else if length > MAX_DURATION {
        errs.at(
            &at,
            "must be at most 8784h (366 days); write a longer freeze as start + end",
        );
    }
    Some(WindowKind::Recurring {
        schedule: Box::new(schedule?.ok()?),
        duration: length,
        zone: zone.ok()?,
    })
}

fn fixed(w: &WindowSpec, path: &str, errs: &mut Errors) -> Option<WindowKind> {
    let start = instant(w.start.as_deref()?, &format!("{path}.start"), errs);
    let end = instant(w.end.as_deref()?, &format!("{path}.end"), errs);
    let (start, end) = (start?, end?);
    if end < start {
        errs.at(format!("{path}.end"), "end before start");
    } else if end == start {
        errs.at(
            format!("{path}.end"),
            "end equals start (the window is empty)",
        );
    }
    Some(WindowKind::Fixed { start, end })
}

fn instant(raw: &str, path: &str, errs: &mut Errors) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            errs.at(
                path,
                format!("invalid time {raw:?}: {e} (expected RFC 3339 with an offset, e.g. 2026-12-28T00:00:00+01:00)"),
            );
        })
        .ok()
}

fn globs(list: &[String], path: &str, errs: &mut Errors) -> Vec<Glob> {
    list.iter()
        .enumerate()
        .filter_map(|(i, g)| {
            Glob::new(g)
                .map_err(|m| errs.at(format!("{path}[{i}]"), m))
                .ok()
        })
        .collect()
}

fn scope(spec: &ScopeSpec, path: &str, errs: &mut Errors) -> Scope {
    Scope::new(
        globs(&spec.tenants, &format!("{path}.tenants"), errs),
        globs(&spec.routes, &format!("{path}.routes"), errs),
    )
}

fn is_token(m: &str) -> bool {
    !m.is_empty()
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn block_rule(r: &BlockRuleSpec, path: &str, errs: &mut Errors) -> Option<BlockRule> {
    let methods = r
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if !is_token(m) {
                errs.at(
                    format!("{path}.methods[{i}]"),
                    format!("invalid method {m:?}"),
                );
            }
            m.to_ascii_uppercase()
        })
        .collect();
    let at = format!("{path}.path_regex");
    if r.path_regex.is_empty() {
        // An empty pattern matches every path: almost surely a mistake; `.*` says it on purpose.
        errs.at(&at, "must not be empty (write .* to match every path)");
        return None;
    }
    let path_re = regex::Regex::new(&r.path_regex).map_err(|e| {
        // regex renders a syntax error over several lines; its last line names the problem.
        let text = e.to_string();
        let why = text.lines().last().unwrap_or_default().trim();
        let why = why.strip_prefix("error: ").unwrap_or(why);
        errs.at(&at, format!("invalid regex {:?}: {why}", r.path_regex));
    });
    Some(BlockRule {
        methods,
        path: path_re.ok()?,
    })
}

fn break_glass(spec: &BreakGlassSpec, errs: &mut Errors) -> BreakGlassPolicy {
    let defaults = BreakGlassPolicy::default();
    let max_ttl = duration(
        &spec.max_ttl,
        defaults.max_ttl,
        "freeze.break_glass.max_ttl",
        errs,
    );
    if max_ttl.is_zero() {
        errs.at("freeze.break_glass.max_ttl", "must be more than 0");
    }
    let approvals = spec.approvals.unwrap_or(defaults.approvals);
    if approvals > 1 {
        errs.at("freeze.break_glass.approvals", "must be 0 or 1");
    }
    BreakGlassPolicy {
        max_ttl,
        approvals: approvals.min(1),
    }
}
