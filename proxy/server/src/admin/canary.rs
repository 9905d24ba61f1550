//! Canary endpoints: read a route's canary, set its weight, roll it back, drive its ramp.
//! Bodies are validated field by field (400 naming the field); every change goes through
//! [`crate::governance`] and answers with the route's canary as it now is.

use super::auth::{authorize, problem_response};
use super::body::{bad, object, text, Body};
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

fn reason(m: &Body) -> Result<String, Problem> {
    text(m, "reason")
}

fn weight(m: &Body) -> Result<Weight, Problem> {
    let Some(v) = m.get("weight") else {
        return Err(bad("weight", "weight is required (percent, 0..100)"));
    };
    let p = v
        .as_f64()
        .ok_or_else(|| bad("weight", format!("weight must be a number, not {v}")))?;
    Weight::from_percent(p).map_err(|e| bad("weight", e))
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

/// Authorises an operator, checks the route, parses the body into a change, applies it.
async fn change(
    s: &Shared,
    route: &str,
    headers: &HeaderMap,
    body: &Bytes,
    parse: impl FnOnce(&Body) -> Result<(CanaryChange, String), Problem>,
) -> Response {
    let parsed = authorize(headers, Role::Operator, s).and_then(|caller| {
        current(s, route)?;
        let (c, why) = parse(&object(body, false)?)?;
        Ok((caller, c, why))
    });
    match parsed {
        Ok((caller, c, why)) => apply(s, route, c, &caller.name, &why).await,
        Err(p) => problem_response(p),
    }
}

/// `PUT /api/v1/routes/{route}/canary {weight, reason}` (operator).
pub async fn put(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(&s, &route, &headers, &body, |m| {
        Ok((CanaryChange::Set(weight(m)?), reason(m)?))
    })
    .await
}

/// `POST /api/v1/routes/{route}/canary/rollback {reason}` (operator).
pub async fn rollback(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(&s, &route, &headers, &body, |m| {
        Ok((CanaryChange::Rollback { cause: None }, reason(m)?))
    })
    .await
}

/// `POST /api/v1/routes/{route}/canary/ramp {action, reason}` (operator).
pub async fn ramp(
    State(s): State<Arc<Shared>>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change(&s, &route, &headers, &body, |m| {
        let action = m
            .get("action")
            .and_then(Value::as_str)
            .and_then(RampAction::parse)
            .ok_or_else(|| bad("action", "action must be one of start, pause, resume, stop"))?;
        Ok((CanaryChange::Ramp(action), reason(m)?))
    })
    .await
}
