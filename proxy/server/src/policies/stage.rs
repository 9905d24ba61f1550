//! Stage 8 (policies): a route's WASM policies run in order on the request as the proxy will
//! forward it. A policy may edit request headers, pick a pool (`X-Switchyard-Pool`) or a
//! release (`X-Switchyard-Variant`) — both read and removed here, an unknown pool or one owned
//! by another tenant refused — or answer itself (its response goes back as written). A trap
//! or timeout applies the policy's `on_error` (forward unchanged, or 503) and never shows the
//! client anything of it. Shadow policies and shadow candidates run on a copy and only count
//! where they would have decided differently.

use super::Slot;
use crate::body::ClientBody;
use crate::ctx::ConnInfo;
use crate::forward::RespBody;
use crate::live::{Shared, Snapshot};
use crate::rescue::Reject;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use std::time::Instant;
use switchyard_core::canary::Variant;
use switchyard_wasm::Decision;

/// What the policies decided for the rest of the pipeline.
#[derive(Debug, Default)]
pub struct Choice {
    /// A pool a policy picked (index).
    pub pool: Option<usize>,
    /// A release a policy picked.
    pub variant: Option<Variant>,
}

/// The outcome of stage 8.
pub enum Outcome {
    /// Go on with these choices.
    Continue(Choice),
    /// A policy answered.
    Answer(Box<Response<RespBody>>),
}

fn to_wasm(
    req: &Request<ClientBody>,
    uri: &str,
    source: std::net::SocketAddr,
    body: Option<Bytes>,
) -> switchyard_wasm::Request {
    let mut r = switchyard_wasm::Request::new(req.method().as_str(), uri);
    r.version = match req.version() {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    };
    r.source = Some(source);
    r.headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    r.body = body;
    r
}

fn decided(
    d: &Result<Decision, switchyard_wasm::CallError>,
    r: &switchyard_wasm::Request,
) -> (Option<u16>, Option<Vec<u8>>, Option<Vec<u8>>) {
    match d {
        Ok(Decision::Respond { status, .. }) => (Some(*status), None, None),
        Ok(Decision::Continue) => (
            None,
            r.header("x-switchyard-pool").map(<[u8]>::to_vec),
            r.header("x-switchyard-variant").map(<[u8]>::to_vec),
        ),
        Err(_) => (Some(0), None, None),
    }
}

/// Reads the body for policies that buffer it (up to `max`), putting it back as read.
async fn body_for(req: &mut Request<ClientBody>, max: u64) -> Result<Bytes, Reject> {
    if let ClientBody::Read(Some(b)) = req.body() {
        return Ok(b.clone());
    }
    let body = std::mem::replace(req.body_mut(), ClientBody::Read(None));
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Reject::BodyTooLarge(max))
        }
        Err(e) => return Err(Reject::ClientBody(e.to_string())),
    };
    *req.body_mut() = ClientBody::Read(Some(bytes.clone()));
    Ok(bytes)
}

/// Runs the route's policies.
pub async fn run(
    snap: &Snapshot,
    shared: &Shared,
    route: usize,
    tenant: Option<usize>,
    conn: &ConnInfo,
    uri: &str,
    req: &mut Request<ClientBody>,
) -> Result<Outcome, Reject> {
    let mut choice = Choice::default();
    let source = std::net::SocketAddr::new(
        crate::stages::canary::client_ip(req.headers(), conn),
        conn.peer.port(),
    );
    for &pi in &snap.config.routes[route].policies {
        let slot = &snap.policies[pi];
        let pc = &snap.config.policies[pi];
        let live = slot.live.load();
        let body = if live.policy.wants_body() {
            Some(body_for(req, snap.config.server.limits.max_body).await?)
        } else {
            None
        };
        let mut wreq = to_wasm(req, uri, source, body);
        shadow_candidate(shared, slot, &wreq);
        if pc.shadow {
            let mut copy = wreq.clone();
            let d = call(shared, slot, &live.policy, &mut copy);
            if decided(&d, &copy) != (None, None, None) {
                shared
                    .metrics
                    .policy_shadow
                    .with_label_values(&[slot.name.as_str()])
                    .inc();
            }
            continue;
        }
        match call(shared, slot, &live.policy, &mut wreq) {
            Ok(Decision::Continue) => {
                apply(snap, tenant, slot, &mut wreq, req, &mut choice, shared)?
            }
            Ok(Decision::Respond {
                status,
                headers,
                body,
            }) => return Ok(Outcome::Answer(Box::new(answer(status, headers, body)))),
            Err(_) if pc.allow_on_error => {}
            Err(_) => return Err(Reject::PolicyFailed(slot.name.clone())),
        }
    }
    Ok(Outcome::Continue(choice))
}

fn call(
    shared: &Shared,
    slot: &Slot,
    policy: &switchyard_wasm::Policy,
    r: &mut switchyard_wasm::Request,
) -> Result<Decision, switchyard_wasm::CallError> {
    let t0 = Instant::now();
    let d = policy.handle(r);
    shared
        .metrics
        .policy_duration
        .with_label_values(&[slot.name.as_str()])
        .observe(t0.elapsed().as_secs_f64());
    if let Err(e) = &d {
        shared
            .metrics
            .policy_errors
            .with_label_values(&[slot.name.as_str(), e.kind()])
            .inc();
    }
    d
}

/// A shadow candidate runs on a copy; a decision unlike the live one's is counted.
fn shadow_candidate(shared: &Shared, slot: &Slot, wreq: &switchyard_wasm::Request) {
    let Some(candidate) = slot.shadow.load_full() else {
        return;
    };
    let (mut a, mut b) = (wreq.clone(), wreq.clone());
    let live = slot.live.load();
    let da = live.policy.handle(&mut a);
    let db = candidate.policy.handle(&mut b);
    if decided(&da, &a) != decided(&db, &b) {
        shared
            .metrics
            .policy_shadow
            .with_label_values(&[slot.name.as_str()])
            .inc();
    }
}

/// Applies a Continue: header edits and method; the routing headers are taken out.
fn apply(
    snap: &Snapshot,
    tenant: Option<usize>,
    slot: &Slot,
    wreq: &mut switchyard_wasm::Request,
    req: &mut Request<ClientBody>,
    choice: &mut Choice,
    shared: &Shared,
) -> Result<(), Reject> {
    let take = |w: &mut switchyard_wasm::Request, name: &str| {
        let v = w
            .header(name)
            .map(|v| String::from_utf8_lossy(v).trim().to_owned());
        w.headers.retain(|(n, _)| n != name);
        v
    };
    if let Some(pool) = take(wreq, "x-switchyard-pool") {
        let found = snap.config.pools.iter().position(|p| p.name == pool);
        match found.filter(|i| snap.config.pools[*i].admits(tenant)) {
            Some(i) => choice.pool = Some(i),
            None => {
                shared
                    .metrics
                    .policy_errors
                    .with_label_values(&[slot.name.as_str(), "pool_refused"])
                    .inc();
                return Err(Reject::PolicyPool {
                    policy: slot.name.clone(),
                    pool,
                });
            }
        }
    }
    match take(wreq, "x-switchyard-variant").as_deref() {
        Some("canary") => choice.variant = Some(Variant::Canary),
        Some("stable") => choice.variant = Some(Variant::Stable),
        _ => {}
    }
    let mut headers = HeaderMap::with_capacity(wreq.headers.len());
    for (n, v) in &wreq.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v),
        ) {
            headers.append(n, v);
        }
    }
    *req.headers_mut() = headers;
    // A guest that buffered the body writes it back (same bytes, as Traefik needs); take
    // whatever it wrote as the body to forward.
    if let (Some(b), ClientBody::Read(Some(_))) = (wreq.body.take(), req.body()) {
        req.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(b.len()));
        *req.body_mut() = ClientBody::Read(Some(b));
    }
    if let Ok(m) = http::Method::from_bytes(wreq.method.as_bytes()) {
        *req.method_mut() = m;
    }
    Ok(())
}

fn answer(status: u16, headers: Vec<(String, Vec<u8>)>, body: Vec<u8>) -> Response<RespBody> {
    let mut r = Response::new(crate::forward::full(Bytes::from(body)));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    for (n, v) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(&v),
        ) {
            r.headers_mut().append(n, v);
        }
    }
    r
}
