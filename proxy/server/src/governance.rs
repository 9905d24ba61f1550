//! The one path every governance mutation takes (DESIGN §3): API calls, ramp steps, the
//! guard's automatic rollback and the dropping of overrides Git replaced all come here. It
//! reads the current value from the state backend, works out the new one, classifies the
//! change's risk, asks the freeze gate (a frozen scope refuses risk-increasing changes with
//! 423 unless an active break-glass exempts it, whose id then goes into the audit entry),
//! writes with compare-and-set (replicas never overwrite each other's changes unseen),
//! appends the audit entry — undoing the write if the entry cannot be made — and applies the
//! result to this replica at once (the others follow through the backend's notification).
//! [`record`] is the same write-then-audit step for freeze and break-glass records.

use crate::audit::AuditEntry;
use crate::canary::{stale, Override, NS};
use crate::freeze::Gate;
use crate::live::Shared;
use serde_json::{json, Value};
use switchyard_core::canary::guard::BreachCause;
use switchyard_core::canary::ramp::{self, RampAction, RampError, RampState, RampStatus};
use switchyard_core::canary::Weight;
use switchyard_core::change::{self, Risk};
use switchyard_core::config::Canary;
use switchyard_core::freeze::Target;
use switchyard_core::problem::Problem;

/// Who asks for a change, and why.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    /// Token name or `system:…`.
    pub actor: &'a str,
    /// Why (required for people).
    pub reason: &'a str,
}

/// A change to one route's canary.
#[derive(Debug, Clone)]
pub enum CanaryChange {
    /// Set the weight (stops a ramp in progress).
    Set(Weight),
    /// Weight 0 at once; `cause` is set for the guard's automatic rollback.
    Rollback {
        /// `error_rate` / `latency` when automatic.
        cause: Option<BreachCause>,
    },
    /// Start, pause, resume or stop the ramp.
    Ramp(RampAction),
    /// Advance a running ramp if it is due (`guard_ok`: the guard passes).
    RampTick {
        /// The guard passes.
        guard_ok: bool,
    },
    /// Drop an override whose config value changed (Git wins).
    DropStale,
}

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    /// No such route.
    #[error("no route named {0:?}")]
    UnknownRoute(String),
    /// The route has no canary pool.
    #[error("route {0:?} has no canary (upstream.canary is not set)")]
    NoCanary(String),
    /// The route has no ramp plan.
    #[error("route {0:?} has no ramp (canary.ramp is not set)")]
    NoRamp(String),
    /// The ramp cannot do that now.
    #[error("{0}")]
    Ramp(#[from] RampError),
    /// The state backend failed.
    #[error("state backend: {0}")]
    State(String),
    /// The audit entry could not be written (the change was undone).
    #[error("{0}")]
    Audit(String),
    /// Other replicas kept changing the value.
    #[error("the value kept changing under concurrent updates; try again")]
    Conflict,
    /// A freeze covers the change and no break-glass exempts it.
    #[error("frozen by window {window:?} until {}: risk-increasing changes are refused (rollbacks and reductions pass; a break-glass can exempt)", end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))]
    Frozen {
        /// The window.
        window: String,
        /// When the scope is unfrozen.
        end: chrono::DateTime<chrono::Utc>,
    },
    /// A request that makes no sense in the current state (e.g. approving one's own request).
    #[error("{1}")]
    Refused(u16, String),
    /// No such record.
    #[error("{0}")]
    NotFound(String),
}

impl GovernError {
    /// The problem+json answer.
    pub fn problem(&self) -> Problem {
        let (status, code, title) = match self {
            GovernError::UnknownRoute(_) => (404, "unknown-route", "Unknown route"),
            GovernError::NoCanary(_) | GovernError::NoRamp(_) => {
                (409, "no-canary", "Not configured for this route")
            }
            GovernError::Ramp(_) => (409, "ramp-conflict", "Ramp cannot do that now"),
            GovernError::Conflict => (409, "conflict", "Concurrent change"),
            GovernError::State(_) => (503, "state-unavailable", "State backend unavailable"),
            GovernError::Audit(_) => (503, "audit-unavailable", "Audit log unavailable"),
            GovernError::Frozen { window, end } => {
                let secs = (*end - chrono::Utc::now()).num_seconds().max(1);
                return Problem::new(423, "frozen", "Change frozen", self.to_string())
                    .with("window", window.as_str())
                    .with(
                        "end",
                        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    )
                    .with("retry_after", secs);
            }
            GovernError::Refused(status, _) => (*status, "refused", "Not allowed"),
            GovernError::NotFound(_) => (404, "not-found", "Not found"),
        };
        Problem::new(status, code, title, self.to_string())
    }
}

/// What a change did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Written and audited.
    Applied {
        /// The risk classification.
        risk: Risk,
    },
    /// Nothing to do (a ramp not yet due, a stale override already gone, …).
    Unchanged,
}

enum Plan {
    Write(Override),
    Delete,
    Nothing,
}

/// Applies a change to route `route`'s canary through the one governed path.
pub async fn canary(
    shared: &Shared,
    route: &str,
    change: CanaryChange,
    who: Who<'_>,
) -> Result<Outcome, GovernError> {
    let store = shared.store();
    for _ in 0..3 {
        let snap = shared.live.load_full();
        let found = snap.config.routes.iter().find(|r| r.name == route);
        let raw = store
            .get(NS, route)
            .await
            .map_err(|e| GovernError::State(e.to_string()))?;
        let stored: Option<Override> = raw.as_deref().and_then(|t| serde_json::from_str(t).ok());
        let Some((_, canary)) = found.and_then(|r| r.canary.as_ref()) else {
            return match (&change, &raw) {
                // The route or its canary is gone from the config: its override goes too.
                (CanaryChange::DropStale, Some(_)) => {
                    let entry = AuditEntry::new(
                        who.actor,
                        action(&change),
                        &format!("routes.{route}.canary"),
                    )
                    .state(stored.map(|o| o.weight), Value::Null)
                    .reason(who.reason)
                    .risk(Risk::Neutral);
                    record(shared, NS, route, (raw.as_deref(), None), entry)
                        .await
                        .map(|_| Outcome::Applied {
                            risk: Risk::Neutral,
                        })
                }
                (CanaryChange::DropStale, None) => Ok(Outcome::Unchanged),
                _ if found.is_none() => Err(GovernError::UnknownRoute(route.to_owned())),
                _ => Err(GovernError::NoCanary(route.to_owned())),
            };
        };
        let is_stale = stored
            .as_ref()
            .is_some_and(|o| stale(&snap.config, route, o));
        let current = stored.clone().filter(|_| !is_stale);
        let from = current
            .as_ref()
            .and_then(Override::weight)
            .unwrap_or(canary.weight);
        let gate = shared.gate(&Target::route(route));
        let frozen = matches!(gate, Gate::Frozen(_));
        let next = match plan(
            route,
            &change,
            canary,
            current.as_ref(),
            (is_stale, frozen),
            from,
            who,
        )? {
            Plan::Nothing => return Ok(Outcome::Unchanged),
            Plan::Delete => None,
            Plan::Write(o) => Some(o),
        };
        let to = next
            .as_ref()
            .and_then(Override::weight)
            .unwrap_or(canary.weight);
        let risk = match change {
            CanaryChange::DropStale => Risk::Neutral,
            _ => change::canary_weight(from, to),
        };
        let exempt = match (&gate, risk) {
            (Gate::Frozen(a), Risk::Increasing) => {
                shared
                    .metrics
                    .freeze_refusals
                    .with_label_values(&["canary"])
                    .inc();
                return Err(GovernError::Frozen {
                    window: a.window.clone(),
                    end: a.end,
                });
            }
            (Gate::Exempt(id), Risk::Increasing) => Some(id.as_str()),
            _ => None,
        };
        let entry = AuditEntry::new(
            who.actor,
            action(&change),
            &format!("routes.{route}.canary"),
        )
        .state(
            audit_state(stored.as_ref(), canary),
            audit_state(next.as_ref(), canary),
        )
        .reason(who.reason)
        .risk(risk)
        .break_glass(exempt);
        let next = next.map(|o| serde_json::to_string(&o).unwrap_or_default());
        if !record(shared, NS, route, (raw.as_deref(), next.as_deref()), entry).await? {
            continue;
        }
        if let CanaryChange::Rollback { cause } = &change {
            let cause = cause.map_or("manual", |c| c.as_str());
            shared
                .metrics
                .canary_rollbacks
                .with_label_values(&[route, cause])
                .inc();
        }
        shared.reset_guard(route);
        return Ok(Outcome::Applied { risk });
    }
    Err(GovernError::Conflict)
}

/// Writes `next` over `expected` at `ns/key` (compare-and-set), then audits; a write that
/// cannot be audited is undone. Applies the namespace to this replica at once. Returns false
/// when another writer got there first.
pub async fn record(
    shared: &Shared,
    ns: &str,
    key: &str,
    (expected, next): (Option<&str>, Option<&str>),
    entry: AuditEntry,
) -> Result<bool, GovernError> {
    let store = shared.store();
    let written = store
        .compare_and_set(ns, key, expected, next)
        .await
        .map_err(|e| GovernError::State(e.to_string()))?;
    if !written {
        return Ok(false);
    }
    if let Err(e) = shared.audit.append(entry) {
        let _ = store.compare_and_set(ns, key, next, expected).await;
        return Err(GovernError::Audit(e));
    }
    if ns == NS {
        shared.refresh_canary().await;
    } else {
        shared.refresh_freeze().await;
    }
    Ok(true)
}

fn action(change: &CanaryChange) -> &'static str {
    match change {
        CanaryChange::Set(_) => "canary.set",
        CanaryChange::Rollback { cause: None } => "canary.rollback",
        CanaryChange::Rollback { cause: Some(_) } => "canary.rollback.automatic",
        CanaryChange::Ramp(a) => match a {
            RampAction::Start => "canary.ramp.start",
            RampAction::Pause => "canary.ramp.pause",
            RampAction::Resume => "canary.ramp.resume",
            RampAction::Stop => "canary.ramp.stop",
        },
        CanaryChange::RampTick { .. } => "canary.ramp.step",
        CanaryChange::DropStale => "canary.override.dropped",
    }
}

fn audit_state(o: Option<&Override>, c: &Canary) -> Value {
    match o {
        Some(o) => json!({"weight": o.weight, "source": "override", "ramp": o.ramp}),
        None => json!({"weight": c.weight.percent(), "source": "config"}),
    }
}

fn stop_active(s: Option<&RampState>, reason: &str) -> Option<RampState> {
    s.cloned().map(|mut s| {
        if matches!(s.status, RampStatus::Running | RampStatus::Paused { .. }) {
            s.status = RampStatus::Stopped {
                reason: reason.to_owned(),
            };
        }
        s
    })
}

fn plan(
    route: &str,
    change: &CanaryChange,
    c: &Canary,
    current: Option<&Override>,
    (is_stale, frozen): (bool, bool),
    from: Weight,
    who: Who<'_>,
) -> Result<Plan, GovernError> {
    let now_ms = crate::live::unix_ms();
    let ramp_now = current.and_then(|o| o.ramp.as_ref());
    let write = |w: Weight, ramp: Option<RampState>| {
        Plan::Write(Override {
            weight: w.percent(),
            config_weight: c.weight.percent(),
            by: who.actor.to_owned(),
            at: crate::live::now_rfc3339(),
            reason: who.reason.to_owned(),
            ramp,
        })
    };
    Ok(match change {
        CanaryChange::Set(w) => write(
            *w,
            stop_active(ramp_now, &format!("weight set to {w} by {}", who.actor)),
        ),
        CanaryChange::Rollback { cause } => {
            if cause.is_some() && from == Weight::ZERO {
                return Ok(Plan::Nothing);
            }
            let ramp = match cause {
                Some(c) => ramp_now.map(|s| ramp::breach(s, c.as_str())),
                None => stop_active(ramp_now, &format!("rolled back by {}", who.actor)),
            };
            write(Weight::ZERO, ramp)
        }
        CanaryChange::Ramp(action) => {
            let p = c
                .ramp
                .as_ref()
                .ok_or_else(|| GovernError::NoRamp(route.to_owned()))?;
            let (state, w) = ramp::act(p, ramp_now, *action, from, now_ms)?;
            write(w, Some(state))
        }
        CanaryChange::RampTick { guard_ok } => {
            let (Some(p), Some(s)) = (c.ramp.as_ref(), ramp_now) else {
                return Ok(Plan::Nothing);
            };
            match ramp::tick(p, s, now_ms, *guard_ok, frozen) {
                Some((state, w)) => write(w, Some(state)),
                None => Plan::Nothing,
            }
        }
        CanaryChange::DropStale => {
            if is_stale {
                Plan::Delete
            } else {
                Plan::Nothing
            }
        }
    })
}
