//! Stage 6 (webhook governance) for requests a partner matches (SPEC §3 step 6): body rules
//! (content type 415, size 413 before reading it all, JSON 400), verification over the raw
//! bytes (401; counted per partner and result), dedupe (a duplicate gets the first delivery's
//! outcome and is not forwarded again), the partner's rate (GCRA, shared on redis with its
//! `fail_mode`) and then: pass (forward as read, byte for byte), `queue` (202 once the record
//! is fdatasync'd in the spool, delivered later in order at the partner's rate) or `reject`
//! (429). A queue-mode webhook whose upstream is unavailable is spooled too. [`delivery`]
//! drains the spool.

pub mod delivery;

use crate::body::ClientBody;
use crate::ctx::ConnInfo;
use crate::live::{Shared, Snapshot};
use crate::rescue::Reject;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use switchyard_core::config::{FailMode, OnLimit, Partner};
use switchyard_core::webhook::{is_json, RequestView};
use switchyard_spool::NewRecord;
use switchyard_state::Claim;

/// A webhook that passed governance and goes on to be forwarded.
pub struct Pass {
    /// Partner index.
    pub partner: usize,
    /// The dedupe key it claimed, to record its outcome under.
    pub dedupe: Claimed,
    /// What to spool if the upstream turns out unavailable (queue mode only).
    pub spool_on_failure: Option<NewRecord>,
}

/// A claimed dedupe key. Unless its outcome is recorded ([`Claimed::take`]), dropping it —
/// a later stage refused the request, or the client went away — gives the key back, so a
/// resend is not answered 409 for the key's whole TTL.
pub struct Claimed {
    key: Option<String>,
    store: switchyard_state::Store,
}

impl Claimed {
    /// The key, now the caller's to record or release.
    pub fn take(&mut self) -> Option<String> {
        self.key.take()
    }
}

impl Drop for Claimed {
    fn drop(&mut self) {
        if let (Some(key), Ok(rt)) = (self.key.take(), tokio::runtime::Handle::try_current()) {
            let store = self.store.clone();
            rt.spawn(async move {
                let _ = store.dedupe_release(&key).await;
            });
        }
    }
}

/// What governance decided.
pub enum Governed {
    /// Forward it (the body was read and is put back as read).
    Pass(Pass),
    /// Answered here (202 spooled, or the first delivery's outcome for a duplicate).
    Answered(Response<crate::forward::RespBody>),
}

fn metric(shared: &Shared, p: &Partner, result: &str) {
    shared
        .metrics
        .webhook_verifications
        .with_label_values(&[p.name.as_str(), result])
        .inc();
}

/// Reads the body under the partner's limit: 413 as soon as it is over (a declared length
/// over the limit is refused before anything is read).
async fn read_body(p: &Partner, req: &mut Request<ClientBody>) -> Result<Bytes, Reject> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > p.body_max) {
        return Err(Reject::BodyTooLarge(p.body_max));
    }
    let body = std::mem::replace(req.body_mut(), ClientBody::Read(None));
    let max = usize::try_from(p.body_max).unwrap_or(usize::MAX);
    match Limited::new(body, max).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Reject::BodyTooLarge(p.body_max))
        }
        Err(e) => Err(Reject::ClientBody(e.to_string())),
    }
}

/// Body rules and verification: the partner is who it says, the body is what it allows.
async fn admit_body(
    shared: &Shared,
    p: &Partner,
    conn: &ConnInfo,
    forwarded_cn: Option<&str>,
    req: &mut Request<ClientBody>,
) -> Result<(Bytes, Option<String>), Reject> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes);
    if !p.content_types.allows(ctype) {
        metric(shared, p, "unsupported_media_type");
        return Err(Reject::WebhookMediaType(p.name.clone()));
    }
    let body = read_body(p, req).await?;
    let cn = conn
        .client_cert
        .as_deref()
        .and_then(|c| c.cn.as_deref())
        .or(forwarded_cn);
    let view = RequestView {
        headers: req.headers(),
        body: &body,
        client_cn: cn,
    };
    let verified = p
        .verifier
        .verify(&view, chrono::Utc::now().timestamp())
        .map_err(|e| {
            metric(shared, p, e.reason());
            Reject::WebhookUnverified {
                partner: p.name.clone(),
                reason: e.to_string(),
            }
        })?;
    if p.require_json && !is_json(&body) {
        metric(shared, p, "malformed_body");
        return Err(Reject::WebhookMalformed(p.name.clone()));
    }
    metric(shared, p, "ok");
    let key = p.dedupe.as_ref().map(|d| d.key.extract(&view));
    Ok((body, key.or(verified.id)))
}

/// Runs stage 6 for partner `pi`.
pub async fn govern(
    snap: &Snapshot,
    shared: &Shared,
    conn: &ConnInfo,
    forwarded_cn: Option<&str>,
    pi: usize,
    req: &mut Request<ClientBody>,
) -> Result<Governed, Reject> {
    let p = &snap.config.partners[pi];
    let (body, id) = admit_body(shared, p, conn, forwarded_cn, req).await?;
    let dedupe = match (&p.dedupe, &id) {
        (Some(d), Some(key)) => {
            let full = format!("{}:{key}", p.name);
            match shared.store().dedupe_claim(&full, d.ttl).await {
                Ok(Claim::New) => Some(full),
                Ok(Claim::Seen(outcome)) => return Ok(Governed::Answered(duplicate(outcome))),
                Err(_) if p.fail_mode == FailMode::Closed => {
                    return Err(Reject::StateUnavailable(p.name.clone()))
                }
                Err(_) => None,
            }
        }
        _ => None,
    };
    let record = new_record(p, id.as_deref(), req, body.clone());
    *req.body_mut() = ClientBody::Read(Some(body));
    let over = match over_limit(snap, shared, pi).await {
        Ok(over) => over,
        Err(reject) => {
            release(shared, dedupe.as_deref()).await;
            return Err(reject);
        }
    };
    match (over, p.on_limit) {
        (None, on_limit) => Ok(Governed::Pass(Pass {
            partner: pi,
            dedupe: Claimed {
                key: dedupe,
                store: shared.store().clone(),
            },
            spool_on_failure: (on_limit == OnLimit::Queue).then_some(record),
        })),
        (Some(_), OnLimit::Queue) => spool(shared, record, dedupe.as_deref())
            .await
            .map(Governed::Answered),
        (Some(reject), OnLimit::Reject) => {
            release(shared, dedupe.as_deref()).await;
            Err(reject)
        }
    }
}

/// The partner's rate: None when within it, else the 429 it would get.
async fn over_limit(snap: &Snapshot, shared: &Shared, pi: usize) -> Result<Option<Reject>, Reject> {
    let p = &snap.config.partners[pi];
    let Some(limit) = p.rate else { return Ok(None) };
    let bucket = &snap.partner_buckets[pi];
    let now_ns = u64::try_from(shared.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let key = || format!("partner:{}", p.name);
    let d = match crate::admission::shared_decision(shared.store(), key, bucket, &limit, now_ns)
        .await
    {
        Ok(d) => d,
        Err(_) if p.fail_mode == FailMode::Closed => {
            return Err(Reject::StateUnavailable(p.name.clone()))
        }
        // Fail open: this replica enforces the limit on its own bucket.
        Err(_) => bucket.check(&limit, now_ns),
    };
    if d.allowed {
        return Ok(None);
    }
    let (policy, state) = switchyard_core::gcra::headers(&p.name, &limit, &d);
    Ok(Some(Reject::RateLimited {
        scope: "partner",
        tenant: p.name.clone(),
        policy,
        state,
        retry_after: switchyard_core::gcra::retry_after_secs(&d).min(86_400),
    }))
}

fn new_record(p: &Partner, id: Option<&str>, req: &Request<ClientBody>, body: Bytes) -> NewRecord {
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    NewRecord {
        partner: p.name.clone(),
        id: id.map_or_else(crate::ctx::new_request_id, str::to_owned),
        received_at_ms: crate::live::unix_ms(),
        method: req.method().as_str().to_owned(),
        path_and_query: req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned(),
        headers,
        body,
    }
}

/// Spools a webhook durably and answers 202 (or 503 when the disk refuses: never a false 202).
pub async fn spool(
    shared: &Shared,
    record: NewRecord,
    dedupe: Option<&str>,
) -> Result<Response<crate::forward::RespBody>, Reject> {
    let (partner, id) = (record.partner.clone(), record.id.clone());
    match shared.spool.append(record).await {
        Ok(seq) => {
            let outcome = serde_json::json!({"status": 202, "id": id, "seq": seq}).to_string();
            record_outcome(shared, dedupe, &outcome).await;
            Ok(accepted(&partner, &id, seq))
        }
        Err(e) => {
            release(shared, dedupe).await;
            Err(Reject::SpoolUnavailable(e.to_string()))
        }
    }
}

fn accepted(partner: &str, id: &str, seq: u64) -> Response<crate::forward::RespBody> {
    let body = serde_json::json!({"status": "queued", "partner": partner, "id": id, "seq": seq});
    let mut r = Response::new(crate::forward::full(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::ACCEPTED;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::try_from(format!("/api/v1/spool/{partner}/{seq}")) {
        h.insert(header::LOCATION, v);
    }
    r
}

/// The answer to a duplicate: the first delivery's status (409 while it is still in flight).
fn duplicate(outcome: Option<String>) -> Response<crate::forward::RespBody> {
    let first: serde_json::Value = outcome
        .as_deref()
        .and_then(|o| serde_json::from_str(o).ok())
        .unwrap_or_default();
    let status = first["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(409);
    let body = serde_json::json!({"duplicate": true, "first": first});
    let mut r = Response::new(crate::forward::full(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::CONFLICT);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-switchyard-duplicate", HeaderValue::from_static("true"));
    if status == 409 {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// Records the outcome a later duplicate gets.
pub async fn record_outcome(shared: &Shared, key: Option<&str>, outcome: &str) {
    let snap = shared.live.load();
    let ttl = key
        .and_then(|k| k.split_once(':'))
        .and_then(|(p, _)| snap.config.partners.iter().find(|x| x.name == p))
        .and_then(|p| p.dedupe.as_ref())
        .map(|d| d.ttl);
    if let (Some(k), Some(ttl)) = (key, ttl) {
        let _ = shared.store().dedupe_record(k, outcome, ttl).await;
    }
}

/// Gives a claimed key back (the request was refused before being processed).
pub async fn release(shared: &Shared, key: Option<&str>) {
    if let Some(k) = key {
        let _ = shared.store().dedupe_release(k).await;
    }
}

/// What became of a governed webhook after forwarding.
pub enum After {
    /// The upstream answered: relay it.
    Forwarded(crate::forward::Forwarded),
    /// Spooled instead (the upstream was unavailable): 202.
    Answered(Response<crate::forward::RespBody>),
}

fn unavailable(r: &Result<crate::forward::Forwarded, Reject>) -> bool {
    match r {
        Ok(f) => matches!(f.response.status().as_u16(), 502..=504),
        Err(e) => matches!(
            e,
            Reject::UpstreamUnreachable(_)
                | Reject::NoHealthyEndpoint(_)
                | Reject::UpstreamTimeout(..)
                | Reject::UpstreamFailed(..)
        ),
    }
}

/// Records the outcome for duplicates; spools a queue-mode webhook whose upstream was
/// unavailable.
pub async fn after_forward(
    shared: &Shared,
    mut pass: Pass,
    fwd: Result<crate::forward::Forwarded, Reject>,
) -> Result<After, Reject> {
    let key = pass.dedupe.take();
    let key = key.as_deref();
    if unavailable(&fwd) {
        if let Some(record) = pass.spool_on_failure.take() {
            return spool(shared, record, key).await.map(After::Answered);
        }
    }
    match fwd {
        // Only a final answer is remembered: a 5xx, 408 or 429 may go another way next time,
        // so the key is given back for the partner's retry.
        Ok(f) if final_status(f.response.status().as_u16()) => {
            let outcome = serde_json::json!({"status": f.response.status().as_u16()}).to_string();
            record_outcome(shared, key, &outcome).await;
            Ok(After::Forwarded(f))
        }
        Ok(f) => {
            release(shared, key).await;
            Ok(After::Forwarded(f))
        }
        Err(e) => {
            release(shared, key).await;
            Err(e)
        }
    }
}

fn final_status(s: u16) -> bool {
    s < 500 && s != 408 && s != 429
}
