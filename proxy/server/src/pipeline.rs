//! The request pipeline (SPEC §3), top to bottom in one place. Each stage lives in its own
//! module under [`crate::stages`] and either continues or returns a [`Reject`], which
//! [`rescue::respond`] turns into problem+json. Facts gathered on the way travel in
//! [`RequestCtx`] and are read once at the end by metrics and the access log.
//! Stages 4–8 (Odoo guard, freeze gate, webhooks, tenant admission, policies) arrive with
//! their issues and slot in where marked.

use crate::body::ClientBody;
use crate::ctx::{ConnInfo, RequestCtx};
use crate::forward::{self, RespBody};
use crate::live::{Shared, Snapshot};
use crate::metrics::{code_class, RequestLabels};
use crate::policies;
use crate::rescue::{self, Reject};
use crate::stages::{admit, canary, identify, odoo, respond, target, trust};
use crate::webhooks;
use http::{header, HeaderName, HeaderValue, Request, Response};
use std::convert::Infallible;
use std::sync::Arc;
use switchyard_core::canary::Variant;
use switchyard_core::config::partners;

static X_SWITCHYARD_VARIANT: HeaderName = HeaderName::from_static("x-switchyard-variant");

/// A data-plane worker: the shared state and its index (which selects its upstream clients).
pub struct Worker {
    /// Shared state.
    pub shared: Arc<Shared>,
    /// Worker index.
    pub index: usize,
}

/// Handles one request; never fails (refusals are responses).
pub async fn handle(
    w: Arc<Worker>,
    conn: Arc<ConnInfo>,
    req: Request<ClientBody>,
) -> Result<Response<RespBody>, Infallible> {
    let snap = w.shared.live.load_full();
    let mut ctx = RequestCtx::new(
        req.method().clone(),
        trust::request_id(req.headers(), conn.trusted),
    );
    let mut resp = match run(&snap, &w, &conn, &mut ctx, req).await {
        Ok(resp) => resp,
        Err(reject) => rescue::respond(reject, &mut ctx),
    };
    finish(&snap, &w.shared, &ctx, &mut resp);
    Ok(resp)
}

async fn run(
    snap: &Snapshot,
    w: &Worker,
    conn: &ConnInfo,
    ctx: &mut RequestCtx,
    mut req: Request<ClientBody>,
) -> Result<Response<RespBody>, Reject> {
    let cfg = &snap.config;
    // 1. Parse — one canonical host and path for routing, logs and forwarding alike
    //    (HTTP/1 framing and limits were enforced when the head was read, in `h1`).
    let target = target::canonical(&req, conn.tls)?;
    if w.shared.access_log.enabled() {
        ctx.host.clone_from(&target.authority.host);
        ctx.path = target.path().to_owned();
    }

    // 2. Trust — strip what this peer may not claim, then set our own forwarded headers
    //    (tenant claims a trusted proxy may make are read first).
    let claims = identify::gather(cfg, req.headers(), conn.trusted);
    let upgrade = trust::is_upgrade(req.headers());
    trust::apply(
        req.headers_mut(),
        conn,
        &target.forwarded_host,
        &ctx.request_id,
        upgrade,
    );

    // 3. Identify — tenant (every source agrees, else 421; unknown → 404, never a default)
    //    and route (first match wins).
    let id = identify::from_request(cfg, &target, req.method(), conn, &claims)?;
    ctx.route = Some(id.route);
    ctx.tenant_idx = id.tenant;

    // 4. Odoo guard — the tenant's own database only; the database manager blocked.
    let facts = odoo::Facts {
        tenant: id.tenant,
        conn,
        path: target.path(),
        session_header: claims.session_header.as_deref(),
    };
    odoo::guard(cfg, &facts, &mut req).await?;

    // 5. Freeze gate — a request that is itself a change (a module install, say) is refused
    //    while a freeze covers its route and tenant, unless a break-glass exempts it.
    if let Some(_rule) = cfg.freeze.blocked(req.method().as_str(), target.path()) {
        freeze_gate(w, cfg, &id)?;
    }

    // 6. Webhook governance — a partner's webhook is verified, deduped, rate-limited and
    //    passed, spooled (202) or refused; a webhook route takes partners only.
    let webhook =
        match partners::match_partner(&cfg.partners, &target.authority.host, target.path()) {
            Some(pi) => {
                let cn = claims.forwarded_cert.as_ref().and_then(|c| c.cn.as_deref());
                match webhooks::govern(snap, &w.shared, conn, cn, pi, &mut req).await? {
                    webhooks::Governed::Answered(resp) => return Ok(resp),
                    webhooks::Governed::Pass(pass) => Some(pass),
                }
            }
            None if cfg.routes[id.route].webhooks => return Err(Reject::UnknownPartner),
            None => None,
        };

    // 7. Tenant admission — the rate limit now; the pool slot once the pool is picked.
    admit::rate(snap, &w.shared, id.tenant).await?;

    // 8. Policies — the route's WASM policies may edit headers, pick a pool or release (an
    //    owned or unknown pool refused), or answer themselves; failures apply `on_error`.
    let choice = if cfg.routes[id.route].policies.is_empty() {
        policies::stage::Choice::default()
    } else {
        let uri = target.uri_for_policies(req.uri().query());
        match policies::stage::run(snap, &w.shared, id.route, id.tenant, conn, &uri, &mut req)
            .await?
        {
            policies::stage::Outcome::Continue(c) => c,
            policies::stage::Outcome::Answer(resp) => {
                ctx.reason = "policy:answered";
                return Ok(*resp);
            }
        }
    };

    // Body limit — a declared length over the limit is refused before anything is sent;
    // a streamed body is cut at the limit (413) by `Limited`.
    let max_body = cfg.server.limits.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(Reject::BodyTooLarge(max_body));
    }

    // 9. Canary pick — the tenant's or route's pools; the sticky bucket against the weight
    //    in force (config ⊕ runtime override, resolved into the snapshot).
    let pick = canary::pick(snap, id.route, id.tenant, req.headers_mut(), conn, &choice);
    ctx.variant = pick.variant;
    if let (Some(b), Some((_, c))) = (pick.new_bucket, &cfg.routes[id.route].canary) {
        ctx.set_cookie = HeaderValue::try_from(canary::set_cookie(&c.cookie, b, conn.tls)).ok();
    }
    if let Some(reason) = pick.reason {
        ctx.reason = reason.as_str();
    }

    // An owned pool serves its owners only, whatever picked it (checked again here).
    if !cfg.pools[pick.pool.0].admits(id.tenant) {
        return Err(Reject::OwnedPool(cfg.pools[pick.pool.0].name.clone()));
    }
    ctx.pool = Some(pick.pool.0);
    // 7b. The tenant's slot in the pool's fair queue, held until the response head.
    let _slot = admit::slot(snap, &w.shared, pick.pool.0, id.tenant).await?;

    // Forward — next healthy endpoint of that pool, timeouts, one safe retry.
    let pool = &snap.pools[pick.pool.0];
    let fwd = forward::to_pool(pool, w.index, req, &target, max_body, &w.shared.metrics).await;
    let fwd = match webhook {
        None => fwd?,
        Some(pass) => match webhooks::after_forward(&w.shared, pass, fwd).await? {
            webhooks::After::Forwarded(f) => f,
            webhooks::After::Answered(resp) => return Ok(resp),
        },
    };
    ctx.endpoint = Some(pool.endpoints[fwd.endpoint].url.clone());
    ctx.attempts = fwd.attempts;
    Ok(respond::from_upstream(fwd.response))
}

/// Stage 5's question for a blocked request: frozen (423) or not.
fn freeze_gate(
    w: &Worker,
    cfg: &switchyard_core::config::Config,
    id: &identify::Identity,
) -> Result<(), Reject> {
    let target = switchyard_core::freeze::Target {
        route: Some(cfg.routes[id.route].name.as_str()),
        tenant: id.tenant.map(|t| cfg.tenants.names[t].as_str()),
    };
    match w.shared.gate(&target) {
        crate::freeze::Gate::Frozen(a) => {
            w.shared
                .metrics
                .freeze_refusals
                .with_label_values(&["request"])
                .inc();
            Err(Reject::Frozen {
                window: a.window,
                end: a.end,
            })
        }
        _ => Ok(()),
    }
}

/// 10. Observe — response headers, metrics and the access log line.
fn finish(snap: &Snapshot, shared: &Shared, ctx: &RequestCtx, resp: &mut Response<RespBody>) {
    let cfg = &snap.config;
    if cfg.observability.request_id_header {
        resp.headers_mut()
            .insert(trust::X_REQUEST_ID.clone(), ctx.request_id.clone());
    }
    if let (Some(v), true) = (ctx.variant, cfg.observability.variant_header) {
        resp.headers_mut().insert(
            X_SWITCHYARD_VARIANT.clone(),
            HeaderValue::from_static(v.as_str()),
        );
    }
    let status = resp.status().as_u16();
    let elapsed = ctx.started.elapsed();
    if let Some(cookie) = &ctx.set_cookie {
        resp.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    if let (Some(r), Some(v)) = (ctx.route, ctx.variant) {
        // The guard judges what the proxy measured: upstream 5xx and the proxy's own 502/504.
        if let Some(Some(g)) = snap.guards.get(r) {
            let now = shared.started.elapsed();
            g.lock()
                .unwrap_or_else(|e| e.into_inner())
                .record(now, v, status >= 500, elapsed);
        }
    }
    let route = ctx.route.map_or("", |i| cfg.routes[i].name.as_str());
    let tenant = ctx.tenant_idx.map_or("", |i| cfg.tenants.names[i].as_str());
    let labels = RequestLabels {
        version: snap.version,
        route: ctx.route.map(|i| (i, route)),
        tenant: ctx.tenant_idx.map(|i| (i, tenant)),
        variant: ctx.variant.unwrap_or(Variant::Stable),
        status,
        rejected: ctx.rejected,
    };
    shared.metrics.record(&labels, elapsed.as_secs_f64());
    if shared.access_log.enabled() {
        let line = serde_json::json!({
            "ts": crate::live::now_rfc3339(),
            "request_id": ctx.id(),
            "method": ctx.method.as_str(),
            "host": ctx.host,
            "path": ctx.path,
            "route": route,
            "tenant": tenant,
            "pool": ctx.pool.map(|i| cfg.pools[i].name.as_str()),
            "variant": ctx.variant.map(Variant::as_str),
            "endpoint": ctx.endpoint,
            "status": status,
            "duration_ms": elapsed.as_secs_f64() * 1000.0,
            "attempts": ctx.attempts,
            "reason": ctx.reason,
        });
        shared.access_log.write(format!("{line}\n"));
    }
}

/// Records a request refused while its head was read, before the pipeline saw it.
pub fn observe_gate_reject(shared: &Shared, reject: &Reject, request_id: &str) {
    let p = reject.problem();
    shared
        .metrics
        .requests
        .with_label_values(&[
            "",
            "",
            Variant::Stable.as_str(),
            code_class(p.status),
            "reject",
        ])
        .inc();
    if shared.access_log.enabled() {
        let line = serde_json::json!({
            "ts": crate::live::now_rfc3339(),
            "request_id": request_id,
            "status": p.status,
            "reason": reject.reason(),
            "detail": p.detail,
        });
        shared.access_log.write(format!("{line}\n"));
    }
}
