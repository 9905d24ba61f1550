//! Spool and partner endpoints: queues per partner (`GET /api/v1/spool`), pause and resume of
//! deliveries, dead letters listed, replayed or purged (operator, audited), and partner usage
//! (`GET /api/v1/partners`: limit, rejections, queued).

use super::auth::{authorize, problem_response};
use crate::audit::AuditEntry;
use crate::live::Shared;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use switchyard_core::config::Role;
use switchyard_core::problem::Problem;

fn stats_json(s: &Shared, partner: &str, now: u64) -> Value {
    let st = s.spool.stats(partner, now);
    json!({
        "partner": partner,
        "depth": st.depth,
        "oldest_age_seconds": st.oldest_age_ms as f64 / 1000.0,
        "dead": st.dead,
        "bytes": st.bytes,
        "failed_attempts": st.attempts_total,
        "paused": st.paused,
    })
}

/// `GET /api/v1/spool` (viewer).
pub async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    let now = crate::live::unix_ms();
    let snap = s.live.load();
    let mut names: Vec<String> = snap
        .config
        .partners
        .iter()
        .map(|p| p.name.clone())
        .collect();
    names.extend(s.spool.partners());
    names.sort();
    names.dedup();
    Json(json!({
        "used_bytes": s.spool.used_bytes(),
        "max_bytes": snap.config.spool.max_bytes,
        "partners": names.iter().map(|n| stats_json(&s, n, now)).collect::<Vec<_>>(),
    }))
    .into_response()
}

fn known(s: &Shared, partner: &str) -> Result<(), Problem> {
    let configured = s
        .live
        .load()
        .config
        .partners
        .iter()
        .any(|p| p.name == partner);
    if configured || s.spool.partners().iter().any(|p| p == partner) {
        Ok(())
    } else {
        Err(Problem::new(
            404,
            "unknown-partner",
            "Unknown partner",
            format!("no partner {partner:?}"),
        ))
    }
}

/// `POST /api/v1/spool/{partner}/{action}` (operator): `pause`, `resume`, `replay` (dead
/// letters back into the queue).
pub async fn act(
    State(s): State<Arc<Shared>>,
    Path((partner, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s)
        .and_then(|c| known(&s, &partner).map(|_| c))
    {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    let result = match action.as_str() {
        "pause" | "resume" => {
            s.spool.pause(&partner, action == "pause");
            Ok(0)
        }
        "replay" => s.spool.replay_dead(&partner),
        other => {
            let p = Problem::new(
                404,
                "not-found",
                "Not found",
                format!("no spool action {other:?} (pause, resume, replay)"),
            );
            return problem_response(p);
        }
    };
    finish(
        &s,
        &caller.name,
        &partner,
        &format!("spool.{action}"),
        result,
    )
}

/// `GET /api/v1/spool/{partner}/dead?limit=` (viewer).
pub async fn dead(
    State(s): State<Arc<Shared>>,
    Path(partner): Path<String>,
    headers: HeaderMap,
    q: Query<LimitQuery>,
) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s).and_then(|_| known(&s, &partner)) {
        return problem_response(p);
    }
    let items: Vec<Value> = s
        .spool
        .dead(&partner, q.limit.unwrap_or(100).min(1000))
        .iter()
        .map(|(r, why)| json!({"seq": r.seq, "id": r.id, "received_at_ms": r.received_at_ms, "reason": why, "attempts": r.attempts, "bytes": r.body.len(), "path": r.path_and_query}))
        .collect();
    Json(json!({"partner": partner, "dead": items})).into_response()
}

/// `?limit=`.
#[derive(Deserialize)]
pub struct LimitQuery {
    limit: Option<usize>,
}

/// `DELETE /api/v1/spool/{partner}/dead` (operator): purge dead letters.
pub async fn purge(
    State(s): State<Arc<Shared>>,
    Path(partner): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s)
        .and_then(|c| known(&s, &partner).map(|_| c))
    {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    let result = s.spool.purge_dead(&partner);
    finish(&s, &caller.name, &partner, "spool.purge", result)
}

fn finish(
    s: &Shared,
    actor: &str,
    partner: &str,
    action: &str,
    result: Result<usize, switchyard_spool::SpoolError>,
) -> Response {
    let entry = AuditEntry::new(actor, action, &format!("spool/{partner}"));
    match result {
        Ok(n) => {
            let _ = s
                .audit
                .append(entry.state(Value::Null, json!({"records": n})));
            Json(json!({"partner": partner, "action": action, "records": n, "spool": stats_json(s, partner, crate::live::unix_ms())})).into_response()
        }
        Err(e) => {
            let _ = s
                .audit
                .append(entry.result("failed").reason(&e.to_string()));
            problem_response(Problem::new(
                503,
                "spool-unavailable",
                "Spool unavailable",
                e.to_string(),
            ))
        }
    }
}

/// `GET /api/v1/partners` (viewer): each partner's limit, decisions, rejections and queue.
pub async fn partners(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    let snap = s.live.load();
    let now = crate::live::unix_ms();
    let list: Vec<Value> = snap
        .config
        .partners
        .iter()
        .zip(&snap.partner_buckets)
        .map(|(p, b)| {
            let verify = |r: &str| s.metrics.webhook_verifications.with_label_values(&[p.name.as_str(), r]).get();
            let st = s.spool.stats(&p.name, now);
            json!({
                "partner": p.name,
                "path_prefix": p.path_prefix,
                "verify": p.verifier.kind(),
                "limit": p.rate.map(|l| json!({"rate": l.rate.limit, "per_seconds": l.rate.per.as_secs_f64(), "burst": l.burst})),
                "on_limit": format!("{:?}", p.on_limit).to_lowercase(),
                "fail_mode": format!("{:?}", p.fail_mode).to_lowercase(),
                "allowed": b.allowed.get(),
                "rejections": {"rate_limited": b.limited.get(), "unverified": verify("bad_signature") + verify("stale_timestamp") + verify("missing_header") + verify("malformed") + verify("no_client_cert") + verify("wrong_client_cert")},
                "queued": st.depth,
                "dead": st.dead,
            })
        })
        .collect();
    Json(json!({"partners": list})).into_response()
}
