//! The admin API on its own listener (axum): health, readiness and metrics without a token;
//! everything under `/api/v1` behind bearer tokens with roles, same-origin only, problem+json
//! on every error. Mutations are POST/PUT/DELETE and each is audited.

mod auth;
mod body;
mod canary;
mod freeze;
mod policies;
mod spool;
mod status;

use crate::live::{Shared, Trigger};
use auth::{authorize, problem_response};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use switchyard_core::config::Role;
use switchyard_core::problem::Problem;

/// The admin router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/reload", post(reload))
        .route("/api/v1/audit", get(audit))
        .route(
            "/api/v1/routes/{route}/canary",
            get(canary::get).put(canary::put),
        )
        .route(
            "/api/v1/routes/{route}/canary/rollback",
            post(canary::rollback),
        )
        .route("/api/v1/routes/{route}/canary/ramp", post(canary::ramp))
        .route("/api/v1/freeze", get(freeze::get).post(freeze::start))
        .route("/api/v1/freeze/{id}", delete(freeze::stop))
        .route("/api/v1/break-glass", post(freeze::request))
        .route("/api/v1/break-glass/{id}/approve", post(freeze::approve))
        .route("/api/v1/break-glass/{id}", delete(freeze::revoke))
        .route("/api/v1/spool", get(spool::list))
        .route(
            "/api/v1/spool/{partner}/dead",
            get(spool::dead).delete(spool::purge),
        )
        .route("/api/v1/spool/{partner}/{action}", post(spool::act))
        .route("/api/v1/partners", get(spool::partners))
        .route(
            "/api/v1/policies/{name}",
            // Modules are larger than axum's 2 MiB default body.
            put(policies::put).layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

async fn readyz(State(s): State<Arc<Shared>>) -> Response {
    if s.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "draining"})),
        )
            .into_response()
    } else {
        Json(serde_json::json!({"status": "ready", "version": s.live.load().version}))
            .into_response()
    }
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

async fn reload(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let caller = match authorize(&headers, Role::Operator, &s) {
        Ok(c) => c,
        Err(p) => return problem_response(p),
    };
    let st = s.reload(Trigger::Api, &caller.name).await;
    if st.result == "refused" {
        let p = Problem::new(
            422,
            "invalid-config",
            "Invalid configuration",
            format!(
                "the new config was refused; version {} keeps serving",
                s.live.load().version
            ),
        )
        .with("errors", st.errors.clone());
        return problem_response(p);
    }
    Json(serde_json::json!({"result": st.result, "version": s.live.load().version, "hash": s.live.load().hash, "needs_restart": st.needs_restart})).into_response()
}

#[derive(Deserialize)]
struct AuditQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn audit(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    let Ok(Query(q)) = q else {
        return problem_response(Problem::new(
            400,
            "invalid-query",
            "Invalid query",
            "since and limit must be non-negative integers",
        ));
    };
    match s
        .audit
        .read(q.since.unwrap_or(0), q.limit.unwrap_or(100).min(1000))
    {
        Ok(entries) => Json(serde_json::json!({"entries": entries})).into_response(),
        Err(e) => problem_response(Problem::new(
            500,
            "audit-unreadable",
            "Audit log unreadable",
            e,
        )),
    }
}

async fn not_found(req: Request) -> Response {
    problem_response(Problem::new(
        404,
        "not-found",
        "Not found",
        format!("no admin endpoint {}", req.uri().path()),
    ))
}

async fn method_not_allowed(req: Request) -> Response {
    problem_response(Problem::new(
        405,
        "method-not-allowed",
        "Method not allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    ))
}
