//! The canary controller's tick (driven by [`crate::control`]): asks each route's guard for
//! a verdict — a breach rolls the weight back to 0 at once — advances ramps that are due while
//! the guard passes (and no freeze covers the route), and drops overrides whose config value
//! Git changed. Every change goes through [`crate::governance`].

use crate::governance::{self, CanaryChange, Outcome, Who};
use crate::live::Shared;
use switchyard_core::canary::guard::Verdict;
use switchyard_core::canary::Weight;

/// One tick over every route with a canary.
pub async fn step(shared: &Shared) {
    let snap = shared.live.load_full();
    let now = shared.started.elapsed();
    for (i, r) in snap.config.routes.iter().enumerate() {
        let Some(eff) = snap.canary.get(i) else {
            continue;
        };
        if r.canary.is_none() {
            continue;
        }
        let verdict = snap
            .guards
            .get(i)
            .and_then(Option::as_ref)
            .map(|g| g.lock().unwrap_or_else(|e| e.into_inner()).evaluate(now));
        if let Some(Verdict::Breach { cause, stats }) = &verdict {
            if eff.weight > Weight::ZERO {
                let reason = format!(
                    "automatic rollback: canary {} breached (canary 5xx rate {:.3} vs stable {:.3}, p99 {:?} vs {:?})",
                    cause.as_str(), stats.canary_error_rate, stats.stable_error_rate, stats.canary_p99, stats.stable_p99
                );
                let who = Who {
                    actor: "system:guard",
                    reason: &reason,
                };
                report(
                    &r.name,
                    governance::canary(
                        shared,
                        &r.name,
                        CanaryChange::Rollback {
                            cause: Some(*cause),
                        },
                        who,
                    )
                    .await,
                );
                continue;
            }
        }
        let running = eff
            .source
            .as_ref()
            .and_then(|o| o.ramp.as_ref())
            .is_some_and(|s| {
                matches!(s.status, switchyard_core::canary::ramp::RampStatus::Running)
                    && crate::live::unix_ms() >= s.next_at_ms
            });
        if running {
            let guard_ok = !matches!(verdict, Some(Verdict::Breach { .. }));
            let who = Who {
                actor: "system:ramp",
                reason: "ramp step due",
            };
            report(
                &r.name,
                governance::canary(shared, &r.name, CanaryChange::RampTick { guard_ok }, who).await,
            );
        }
    }
    let stale: Vec<String> = {
        let o = shared.overrides.lock().unwrap_or_else(|e| e.into_inner());
        o.iter()
            .filter(|(route, (_, ov))| crate::canary::stale(&snap.config, route, ov))
            .map(|(route, _)| route.clone())
            .collect()
    };
    for route in stale {
        let who = Who {
            actor: "system:config",
            reason: "the config changed the value this override replaced; Git wins",
        };
        report(
            &route,
            governance::canary(shared, &route, CanaryChange::DropStale, who).await,
        );
    }
}

fn report(route: &str, r: Result<Outcome, governance::GovernError>) {
    if let Err(e) = r {
        eprintln!(
            "{}",
            serde_json::json!({"level": "warn", "msg": "canary controller", "route": route, "error": e.to_string()})
        );
    }
}
