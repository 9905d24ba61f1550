//! `PUT /api/v1/policies/{name}` (operator): a new module for a configured policy, as the raw
//! `.wasm` body. It is compiled off the request path with the policy's settings (config,
//! limits, sha256 pin), must pass the policy's declared tests, is gated by the change freeze
//! (a new module is risk-increasing on every route that runs it) and audited; then it replaces
//! the live module atomically — or, with `?mode=shadow`, runs beside it and only counts
//! disagreements. Requests in flight finish on the module they started with.

use super::auth::{authorize, problem_response};
use crate::audit::AuditEntry;
use crate::freeze::Gate;
use crate::live::Shared;
use crate::policies::{compile, Loaded};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use switchyard_core::config::Role;
use switchyard_core::freeze::Target;
use switchyard_core::problem::Problem;

/// `?mode=`.
#[derive(Deserialize)]
pub struct ModeQuery {
    mode: Option<String>,
}

fn frozen(s: &Shared, name: &str) -> Result<Option<String>, Problem> {
    let snap = s.live.load();
    let Some(pi) = snap.config.policies.iter().position(|p| p.name == name) else {
        return Ok(None);
    };
    let mut exempt = None;
    for r in snap
        .config
        .routes
        .iter()
        .filter(|r| r.policies.contains(&pi))
    {
        match s.gate(&Target::route(&r.name)) {
            Gate::Open => {}
            Gate::Exempt(id) => exempt = Some(id),
            Gate::Frozen(a) => {
                s.metrics
                    .freeze_refusals
                    .with_label_values(&["policy"])
                    .inc();
                return Err(crate::governance::GovernError::Frozen {
                    window: a.window,
                    end: a.end,
                }
                .problem());
            }
        }
    }
    Ok(exempt)
}

/// The handler.
pub async fn put(
    State(s): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(q): Query<ModeQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match push(&s, &name, q.mode.as_deref(), &headers, body).await {
        Ok(v) => Json(v).into_response(),
        Err(p) => problem_response(p),
    }
}

async fn push(
    s: &Arc<Shared>,
    name: &str,
    mode: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<serde_json::Value, Problem> {
    let caller = authorize(headers, Role::Operator, s)?;
    let shadow = match mode {
        None | Some("enforce") => false,
        Some("shadow") => true,
        Some(other) => {
            return Err(super::body::bad(
                "mode",
                format!("mode {other:?} is neither enforce nor shadow"),
            ))
        }
    };
    let snap = s.live.load_full();
    let Some(pi) = snap.config.policies.iter().position(|p| p.name == name) else {
        return Err(Problem::new(
            404,
            "unknown-policy",
            "Unknown policy",
            format!("no policy {name:?} in the config"),
        ));
    };
    // Pushing the module the config names (a rollback to what Git says) reduces risk: it is
    // not gated. Anything else is a new module on live routes.
    let back_to_git = crate::live::sha256_hex(&body) == snap.policies[pi].live.load().config_sha;
    let exempt = if back_to_git { None } else { frozen(s, name)? };
    let (host, pc) = (s.wasm.clone(), snap.config.policies[pi].clone());
    let pools: Vec<String> = snap.config.pools.iter().map(|p| p.name.clone()).collect();
    let wasm = body.clone();
    let compiled = tokio::task::spawn_blocking(move || compile(&host, &pc, &wasm, &pools)).await;
    let policy = match compiled {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return Err(
                Problem::new(422, "policy-refused", "Module refused", e.to_string())
                    .with("path", e.path),
            )
        }
        Err(e) => {
            return Err(Problem::new(
                500,
                "compile-failed",
                "Compile failed",
                e.to_string(),
            ))
        }
    };
    let slot = &snap.policies[pi];
    let before = slot.live.load().policy.sha256().to_owned();
    let after = policy.sha256().to_owned();
    let entry = AuditEntry::new(
        &caller.name,
        if shadow {
            "policy.shadow"
        } else {
            "policy.push"
        },
        &format!("policies.{name}"),
    )
    .state(&before, &after)
    .reason(&format!(
        "module pushed through the admin API ({} bytes)",
        body.len()
    ))
    .risk(switchyard_core::change::Risk::Increasing)
    .break_glass(exempt.as_deref());
    s.audit
        .append(entry)
        .map_err(|e| crate::governance::GovernError::Audit(e).problem())?;
    let config_sha = slot.live.load().config_sha.clone();
    let loaded = Arc::new(Loaded {
        policy,
        config_sha,
        source: caller.name.clone(),
    });
    if shadow {
        slot.shadow.store(Some(loaded));
    } else {
        slot.live.store(loaded);
        slot.shadow.store(None);
    }
    Ok(
        json!({"policy": name, "mode": if shadow { "shadow" } else { "enforce" }, "sha256": after, "previous": before}),
    )
}
