//! Canary endpoints: read a route's canary, set its weight, roll it back, drive its ramp.
//! Bodies are validated field by field (400 naming the field); every change goes through
//! [`crate::governance`] and answers with the route's canary as it now is.

use super::auth::{authorize, problem_response};
use crate::governance::{self, CanaryChange, Who};
use crate::live::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;
use switchyard_core::canary::ramp::RampAction;
use switchyard_core::canary::Weight;
use switchyard_core::config::Role;
use switchyard_core::problem::Problem;

fn bad_field(field: &str, detail: impl Into<String>) -> Problem {
    Problem::new(400, "invalid-request", "Invalid request", detail).with("field", field)
}

/// The route's canary view, or 404/409.
fn current(s: &Shared, route: &str) -> Result<Value, Problem> {
    let snap = s.live.load();
    let Some(i) = snap.config.routes.iter().position(|r| r.name == route) else {
        return Err(governance::GovernError::UnknownRoute(route.to_owned()).problem());
    };
    if snap.config.routes[i].canary.is_none() {
        return Err(governance::GovernError::NoCanary(route.to_owned()).problem());
    }
    Ok(crate::canary::view(&snap.config, i, &snap.canary[i]))
}

/// `GET /api/v1/routes/{route}/canary` (viewer).
pub async fn get(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    answer(current(&s, &route))
}

fn answer(r: Result<Value, Problem>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(p) => problem_response(p),
    }
}

/// The JSON object body, or a 400.
fn object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Problem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_field("", "the body must be a JSON object")),
        Err(e) => Err(bad_field("", format!("the body is not valid JSON: {e}"))),
    }
}

fn reason(m: &serde_json::Map<String, Value>) -> Result<String, Problem> {
    match m.get("reason") {
        Some(Value::String(r)) if !r.trim().is_empty() => Ok(r.trim().to_owned()),
        Some(Value::String(_)) | None => Err(bad_field("reason", "reason is required: say why")),
        Some(_) => Err(bad_field("reason", "reason must be a string")),
    }
}

fn weight(m: &serde_json::Map<String, Value>) -> Result<Weight, Problem> {
    let Some(v) = m.get("weight") else {
        return Err(bad_field("weight", "weight is required (percent, 0..100)"));
    };
    let p = v
        .as_f64()
        .ok_or_else(|| bad_field("weight", format!("weight must be a number, not {v}")))?;
    Weight::from_percent(p).map_err(|e| bad_field("weight", e))
}

async fn apply(
    s: &Shared,
    route: &str,
    change: CanaryChange,
    actor: &str,
    reason: &str,
) -> Response {
    let who = Who { actor, reason };
    match governance::canary(s, route, change, who).await {
        Ok(_) => answer(current(s, route)),
        Err(e) => problem_response(e.problem().with("route", route)),
    }
}

/// `PUT /api/v1/routes/{route}/canary {weight, reason}` (operator).
pub async fn put(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s) {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    if let Err(p) = current(&s, &route) {
        return problem_response(p);
    }
    let parsed = object(&body).and_then(|m| Ok((weight(&m)?, reason(&m)?)));
    match parsed {
        Ok((w, why)) => apply(&s, &route, CanaryChange::Set(w), &caller.name, &why).await,
        Err(p) => problem_response(p),
    }
}

/// `POST /api/v1/routes/{route}/canary/rollback {reason}` (operator).
pub async fn rollback(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s) {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    if let Err(p) = current(&s, &route) {
        return problem_response(p);
    }
    match object(&body).and_then(|m| reason(&m)) {
        Ok(why) => {
            apply(
                &s,
                &route,
                CanaryChange::Rollback { cause: None },
                &caller.name,
                &why,
            )
            .await
        }
        Err(p) => problem_response(p),
    }
}

/// `POST /api/v1/routes/{route}/canary/ramp {action, reason}` (operator).
pub async fn ramp(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s) {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    if let Err(p) = current(&s, &route) {
        return problem_response(p);
    }
    let parsed = object(&body).and_then(|m| {
        let action = m
            .get("action")
            .and_then(Value::as_str)
            .and_then(RampAction::parse)
            .ok_or_else(|| {
                bad_field("action", "action must be one of start, pause, resume, stop")
            })?;
        Ok((action, reason(&m)?))
    });
    match parsed {
        Ok((a, why)) => apply(&s, &route, CanaryChange::Ramp(a), &caller.name, &why).await,
        Err(p) => problem_response(p),
    }
}
