//! Freeze and break-glass endpoints (freeze-admin to change, viewer to read): the calendar
//! as it stands (`GET /api/v1/freeze`), manual "stop the line" freezes, and break-glass
//! exemptions with the four-eyes approval. Each change is a record in the state backend
//! written through [`governance::record`] (compare-and-set, then audit).

use super::auth::{authorize, problem_response, Caller};
use super::body::{bad, object, text, Body};
use crate::audit::AuditEntry;
use crate::freeze::{
    new_id, BreakGlass, GlassStatus, ManualFreeze, ScopeRecord, NS_FREEZES, NS_GLASS,
};
use crate::governance::{self, GovernError};
use crate::live::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use switchyard_core::config::Role;
use switchyard_core::problem::Problem;

fn scope(m: &Body) -> Result<ScopeRecord, Problem> {
    let Some(v) = m.get("scope") else {
        return Ok(ScopeRecord::default());
    };
    let s: ScopeRecord = serde_json::from_value(v.clone()).map_err(|e| {
        bad(
            "scope",
            format!("scope must be {{tenants: [globs], routes: [globs]}}: {e}"),
        )
    })?;
    s.compile()
        .map_err(|e| bad("scope", format!("scope.{e}")))?;
    Ok(s)
}

/// A time: RFC 3339, or a duration from now (`2h`, `90m`).
fn until(m: &Body, now: DateTime<Utc>) -> Result<DateTime<Utc>, Problem> {
    let raw = text(m, "until")?;
    let t = match DateTime::parse_from_rfc3339(&raw) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            let d = switchyard_core::units::parse_duration(&raw).map_err(|_| {
                bad(
                    "until",
                    format!("until {raw:?} is neither an RFC 3339 time nor a duration such as 2h"),
                )
            })?;
            now + chrono::TimeDelta::from_std(d)
                .map_err(|_| bad("until", "until is too far away"))?
        }
    };
    if t <= now {
        return Err(bad("until", format!("until {raw:?} is not in the future")));
    }
    Ok(t)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn glass_view(g: &BreakGlass, now: DateTime<Utc>) -> Value {
    let mut v = json!(g);
    v["status"] = json!(g.status(now));
    v["expires_at"] = json!(ts(g.expires_at()));
    v
}

/// `GET /api/v1/freeze` (viewer): windows in force and next, manual freezes, break-glass,
/// blocked requests and a held reload.
pub async fn get(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    Json(view(&s)).into_response()
}

/// The freeze document (also part of `/api/v1/status`).
pub fn view(s: &Shared) -> Value {
    let now = Utc::now();
    let snap = s.live.load();
    let st = s.freeze.load();
    let spans = snap.config.freeze.upcoming(now, &st.windows, 50);
    let span = |(w, a, b): &(String, DateTime<Utc>, DateTime<Utc>)| json!({"window": w, "start": ts(*a), "end": ts(*b)});
    json!({
        "now": ts(now),
        "active": spans.iter().filter(|x| x.1 <= now).map(span).collect::<Vec<_>>(),
        "upcoming": spans.iter().filter(|x| x.1 > now).map(span).collect::<Vec<_>>(),
        "manual": st.manual.iter().filter(|f| f.until > now).collect::<Vec<_>>(),
        "break_glass": st.glass.iter().map(|(g, _)| glass_view(g, now)).collect::<Vec<_>>(),
        "block_requests": snap.config.freeze.block_requests.iter().map(|r| json!({"methods": r.methods, "path_regex": r.path.as_str()})).collect::<Vec<_>>(),
        "break_glass_policy": {"max_ttl_seconds": snap.config.freeze.break_glass.max_ttl.as_secs(), "approvals": snap.config.freeze.break_glass.approvals},
        "held_reload": *s.held.lock().unwrap_or_else(|e| e.into_inner()),
    })
}

async fn admin(s: &Shared, headers: &HeaderMap) -> Result<Caller, Problem> {
    authorize(headers, Role::FreezeAdmin, s)
}

fn respond(r: Result<(StatusCode, Value), Problem>) -> Response {
    match r {
        Ok((status, v)) => (status, Json(v)).into_response(),
        Err(p) => problem_response(p),
    }
}

fn governed(e: GovernError) -> Problem {
    e.problem()
}

/// `POST /api/v1/freeze {reason, until, scope}` (freeze-admin): stop the line now.
pub async fn start(State(s): State<Arc<Shared>>, headers: HeaderMap, b: Bytes) -> Response {
    respond(start_inner(&s, &headers, &b).await)
}

async fn start_inner(
    s: &Shared,
    headers: &HeaderMap,
    b: &Bytes,
) -> Result<(StatusCode, Value), Problem> {
    let caller = admin(s, headers).await?;
    let m = object(b, false)?;
    let now = Utc::now();
    let f = ManualFreeze {
        id: new_id("freeze"),
        reason: text(&m, "reason")?,
        start: now,
        until: until(&m, now)?,
        scope: scope(&m)?,
        by: caller.name.clone(),
    };
    let raw = serde_json::to_string(&f).unwrap_or_default();
    let entry = AuditEntry::new(&caller.name, "freeze.start", &format!("freeze/{}", f.id))
        .state(Value::Null, &f)
        .reason(&f.reason)
        .risk(switchyard_core::change::Risk::Reducing);
    governance::record(s, NS_FREEZES, &f.id, (None, Some(&raw)), entry)
        .await
        .map_err(governed)?;
    Ok((StatusCode::CREATED, json!(f)))
}

/// `DELETE /api/v1/freeze/{id}` (freeze-admin): lift a manual freeze.
pub async fn stop(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    b: Bytes,
) -> Response {
    respond(stop_inner(&s, &id, &headers, &b).await)
}

async fn stop_inner(
    s: &Shared,
    id: &str,
    headers: &HeaderMap,
    b: &Bytes,
) -> Result<(StatusCode, Value), Problem> {
    let caller = admin(s, headers).await?;
    let m = object(b, true)?;
    let reason = text(&m, "reason").unwrap_or_else(|_| format!("lifted by {}", caller.name));
    let raw = s
        .store()
        .get(NS_FREEZES, id)
        .await
        .map_err(|e| governed(GovernError::State(e.to_string())))?;
    let Some(raw) = raw else {
        return Err(governed(GovernError::NotFound(format!(
            "no manual freeze {id:?} (config windows change through Git)"
        ))));
    };
    let entry = AuditEntry::new(&caller.name, "freeze.stop", &format!("freeze/{id}"))
        .state(
            serde_json::from_str::<Value>(&raw).unwrap_or_default(),
            Value::Null,
        )
        .reason(&reason);
    if !governance::record(s, NS_FREEZES, id, (Some(&raw), None), entry)
        .await
        .map_err(governed)?
    {
        return Err(governed(GovernError::Conflict));
    }
    Ok((StatusCode::OK, json!({"id": id, "lifted": true})))
}

/// `POST /api/v1/break-glass {scope, ttl, reason, ticket}` (freeze-admin). Active at once
/// when `freeze.break_glass.approvals` is 0, else pending until a different freeze-admin
/// approves it.
pub async fn request(State(s): State<Arc<Shared>>, headers: HeaderMap, b: Bytes) -> Response {
    respond(request_inner(&s, &headers, &b).await)
}

async fn request_inner(
    s: &Shared,
    headers: &HeaderMap,
    b: &Bytes,
) -> Result<(StatusCode, Value), Problem> {
    let caller = admin(s, headers).await?;
    let m = object(b, false)?;
    let policy = s.live.load().config.freeze.break_glass;
    let ttl_raw = text(&m, "ttl")?;
    let ttl = switchyard_core::units::parse_duration(&ttl_raw).map_err(|e| bad("ttl", e))?;
    if ttl > policy.max_ttl || ttl.is_zero() {
        let max = humantime::format_duration(policy.max_ttl);
        return Err(bad(
            "ttl",
            format!("ttl {ttl_raw} must be above 0 and at most freeze.break_glass.max_ttl ({max})"),
        ));
    }
    let now = Utc::now();
    let g = BreakGlass {
        id: new_id("bg"),
        scope: scope(&m)?,
        ttl_secs: ttl.as_secs().max(1),
        reason: text(&m, "reason")?,
        ticket: text(&m, "ticket")?,
        requested_by: caller.name.clone(),
        requested_at: now,
        approved_by: None,
        activated_at: (policy.approvals == 0).then_some(now),
        revoked_by: None,
    };
    let raw = serde_json::to_string(&g).unwrap_or_default();
    let entry = AuditEntry::new(
        &caller.name,
        "break-glass.request",
        &format!("break-glass/{}", g.id),
    )
    .state(Value::Null, &g)
    .reason(&g.reason)
    .ticket(&g.ticket)
    .break_glass(Some(&g.id));
    governance::record(s, NS_GLASS, &g.id, (None, Some(&raw)), entry)
        .await
        .map_err(governed)?;
    Ok((StatusCode::CREATED, glass_view(&g, now)))
}

async fn load_glass(s: &Shared, id: &str) -> Result<(String, BreakGlass), Problem> {
    let raw = s
        .store()
        .get(NS_GLASS, id)
        .await
        .map_err(|e| governed(GovernError::State(e.to_string())))?;
    let raw =
        raw.ok_or_else(|| governed(GovernError::NotFound(format!("no break-glass {id:?}"))))?;
    let g = serde_json::from_str(&raw)
        .map_err(|e| governed(GovernError::State(format!("break-glass {id}: {e}"))))?;
    Ok((raw, g))
}

/// `POST /api/v1/break-glass/{id}/approve` (freeze-admin, not the requester).
pub async fn approve(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(change_glass(&s, &id, &headers, true).await)
}

/// `DELETE /api/v1/break-glass/{id}` (freeze-admin): revoke.
pub async fn revoke(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(change_glass(&s, &id, &headers, false).await)
}

async fn change_glass(
    s: &Shared,
    id: &str,
    headers: &HeaderMap,
    approve: bool,
) -> Result<(StatusCode, Value), Problem> {
    let caller = admin(s, headers).await?;
    let (raw, mut g) = load_glass(s, id).await?;
    let now = Utc::now();
    let refuse = |status: u16, why: String| governed(GovernError::Refused(status, why));
    match (g.status(now), approve) {
        (GlassStatus::Pending, true) if g.requested_by == caller.name => {
            return Err(refuse(
                403,
                format!(
                    "{} requested {id}; a different freeze-admin must approve it (four eyes)",
                    caller.name
                ),
            ));
        }
        (GlassStatus::Pending, true) => {
            g.approved_by = Some(caller.name.clone());
            g.activated_at = Some(now);
        }
        (GlassStatus::Pending | GlassStatus::Active, false) => {
            g.revoked_by = Some(caller.name.clone())
        }
        (status, _) => {
            let verb = if approve { "approve" } else { "revoke" };
            return Err(refuse(
                409,
                format!(
                    "cannot {verb} {id}: it is {}",
                    json!(status).as_str().unwrap_or("")
                ),
            ));
        }
    }
    let next = serde_json::to_string(&g).unwrap_or_default();
    let action = if approve {
        "break-glass.approve"
    } else {
        "break-glass.revoke"
    };
    let entry = AuditEntry::new(&caller.name, action, &format!("break-glass/{id}"))
        .state(serde_json::from_str::<Value>(&raw).unwrap_or_default(), &g)
        .reason(&g.reason)
        .ticket(&g.ticket)
        .break_glass(Some(id));
    if !governance::record(s, NS_GLASS, id, (Some(&raw), Some(&next)), entry)
        .await
        .map_err(governed)?
    {
        return Err(governed(GovernError::Conflict));
    }
    Ok((StatusCode::OK, glass_view(&g, now)))
}
