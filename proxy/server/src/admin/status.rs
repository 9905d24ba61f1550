//! `GET /api/v1/status`: what is being served and how it is doing — config version and hash,
//! the last reload (with every error if it was refused), pools with endpoint health, routes.

use super::auth::{authorize, problem_response};
use crate::live::Shared;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;
use switchyard_core::config::Role;

/// The status document.
pub async fn status(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(p) = authorize(&headers, Role::Viewer, &s) {
        return problem_response(p);
    }
    let snap = s.live.load();
    let cfg = &snap.config;
    let pools: Vec<_> = snap
        .pools
        .iter()
        .map(|p| {
            let eps: Vec<_> = p.endpoints.iter().map(|e| json!({"url": e.url, "healthy": e.is_healthy(), "connect_failures": e.connect_failures()})).collect();
            json!({"name": p.name, "endpoints": eps})
        })
        .collect();
    let routes: Vec<_> = cfg
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"name": r.name, "stable": cfg.pools[r.stable.0].name, "canary": crate::canary::view(cfg, i, &snap.canary[i])}))
        .collect();
    let last = s.last_reload.lock().map(|g| g.clone()).unwrap_or(None);
    Json(json!({
        "config": {
            "version": snap.version,
            "hash": snap.hash,
            "path": s.config_path.display().to_string(),
            "loaded_at": humantime::format_rfc3339_millis(snap.loaded_at).to_string(),
        },
        "last_reload": last,
        "held_reload": *s.held.lock().unwrap_or_else(|e| e.into_inner()),
        "draining": s.is_draining(),
        "workers": s.workers,
        "pools": pools,
        "routes": routes,
        "tenants": cfg.tenants.names,
        "state": {"backend": s.store().backend_name()},
        "freeze": super::freeze::view(&s),
        "spool": {"used_bytes": s.spool.used_bytes(), "partners": s.spool.partners().iter().map(|p| { let st = s.spool.stats(p, crate::live::unix_ms()); json!({"partner": p, "depth": st.depth, "dead": st.dead}) }).collect::<Vec<_>>()},
        "access_log_dropped": s.access_log.dropped(),
        "audit": {"path": s.audit.path().display().to_string(), "entries": s.audit.head().0, "head": s.audit.head().1},
    }))
    .into_response()
}
