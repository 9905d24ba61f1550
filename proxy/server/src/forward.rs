//! Forwarding to a pool: pick the next healthy endpoint round-robin, send over the worker's
//! keep-alive connections to it ([`crate::upstream`]), bound the wait for the response head by
//! the pool's request timeout, and retry an idempotent, body-less request once on another
//! endpoint after a connect failure.

use crate::body::ClientBody;
use crate::health::EndpointHealth;
use crate::rescue::Reject;
use crate::upstream::{self, Failure, UpBody};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{combinators::BoxBody, BodyExt, Either, Empty, Full, Limited};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::config::Pool;

/// Body sent upstream: the client's body under the size limit, or nothing.
pub type ReqBody = Either<Limited<ClientBody>, Empty<Bytes>>;
/// Body sent to the client: the upstream's, or one the proxy wrote.
pub type RespBody = Either<UpBody, BoxBody<Bytes, std::io::Error>>;

/// Forwards a client request to `pool`: the canonical target and Host, HTTP/1.1 upstream,
/// the body under `max_body` (413 beyond); counts retries and failures per pool.
pub async fn to_pool(
    pool: &PoolRuntime,
    worker: usize,
    req: Request<ClientBody>,
    target: &crate::stages::target::Target,
    max_body: u64,
    metrics: &crate::metrics::Metrics,
) -> Result<Forwarded, Reject> {
    let (mut parts, body) = req.into_parts();
    if let Some(uri) = target.forward_uri() {
        parts.uri = uri.map_err(|_| Reject::Path(switchyard_core::path::PathError::NotAbsolute))?;
    }
    // Upstreams speak HTTP/1.1 and see the one canonical host (h2 requests carry none).
    parts.version = http::Version::HTTP_11;
    parts
        .headers
        .insert(http::header::HOST, target.forwarded_host.clone());
    let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
    let upstream_req = Request::from_parts(parts, Either::Left(Limited::new(body, limit)));
    let fwd = send(pool, worker, upstream_req).await.map_err(|r| match r {
        Reject::BodyTooLarge(_) => Reject::BodyTooLarge(max_body),
        other => other,
    });
    // Retries and failures are rare: count them (label lookups off the common path).
    let outcome = match &fwd {
        Ok(f) if f.attempts == 1 => None,
        Ok(_) => Some("retried"),
        Err(_) => Some("failed"),
    };
    if let Some(o) = outcome {
        metrics
            .upstream_attempts
            .with_label_values(&[pool.name.as_str(), o])
            .inc();
    }
    fwd
}

/// A response body the proxy wrote.
pub fn full(b: Bytes) -> RespBody {
    Either::Right(Full::new(b).map_err(|never| match never {}).boxed())
}

/// A pool as the data plane sees it: endpoints (with their health and idle connections), the
/// round-robin cursor and timeouts. Built per snapshot from long-lived parts kept by name.
pub struct PoolRuntime {
    /// Config name.
    pub name: String,
    /// Endpoints with their health.
    pub endpoints: Vec<Arc<EndpointHealth>>,
    /// Round-robin cursor (kept across reloads).
    pub cursor: Arc<AtomicUsize>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Response-head timeout.
    pub request_timeout: Duration,
}

impl PoolRuntime {
    /// Next healthy endpoint after the cursor, skipping `not`.
    pub fn pick(&self, not: Option<usize>) -> Option<usize> {
        let n = self.endpoints.len();
        let start = if n > 1 {
            self.cursor.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| Some(i) != not && self.endpoints[i].is_healthy())
    }
}

/// Builds the pool runtimes for a config, reusing long-lived parts from `keep`.
pub fn pools(cfg: &[Pool], keep: &crate::health::Registry) -> Vec<Arc<PoolRuntime>> {
    cfg.iter()
        .map(|p| {
            Arc::new(PoolRuntime {
                name: p.name.clone(),
                endpoints: p
                    .endpoints
                    .iter()
                    .map(|e| keep.endpoint(&p.name, e))
                    .collect(),
                cursor: keep.cursor(&p.name),
                connect_timeout: p.connect_timeout,
                request_timeout: p.request_timeout,
            })
        })
        .collect()
}

/// What the pipeline learns from forwarding.
pub struct Forwarded {
    /// The upstream's response.
    pub response: Response<UpBody>,
    /// The endpoint that answered.
    pub endpoint: usize,
    /// Tries made.
    pub attempts: u8,
}

/// Sends `req` (origin-form URI) to the pool.
pub async fn send(
    pool: &PoolRuntime,
    worker: usize,
    req: Request<ReqBody>,
) -> Result<Forwarded, Reject> {
    let first = pool
        .pick(None)
        .ok_or_else(|| Reject::NoHealthyEndpoint(pool.name.clone()))?;
    let retry_copy =
        (pool.endpoints.len() > 1 && req.method().is_idempotent() && is_empty(req.body()))
            .then(|| copy_head(&req));
    match attempt(pool, worker, first, req).await {
        Ok(response) => Ok(Forwarded {
            response,
            endpoint: first,
            attempts: 1,
        }),
        Err(Attempt::Connect) => {
            pool.endpoints[first].mark_failed();
            let (Some(again), Some(next)) = (retry_copy, pool.pick(Some(first))) else {
                return Err(Reject::UpstreamUnreachable(pool.name.clone()));
            };
            match attempt(pool, worker, next, again).await {
                Ok(response) => Ok(Forwarded {
                    response,
                    endpoint: next,
                    attempts: 2,
                }),
                Err(e) => {
                    if matches!(e, Attempt::Connect) {
                        pool.endpoints[next].mark_failed();
                    }
                    Err(e.into_reject(pool))
                }
            }
        }
        Err(e) => Err(e.into_reject(pool)),
    }
}

enum Attempt {
    Connect,
    Timeout(Duration),
    BodyTooLarge,
    ClientBody(String),
    Failed(String),
}

impl Attempt {
    fn into_reject(self, pool: &PoolRuntime) -> Reject {
        match self {
            Attempt::Connect => Reject::UpstreamUnreachable(pool.name.clone()),
            Attempt::Timeout(d) => Reject::UpstreamTimeout(pool.name.clone(), d),
            Attempt::BodyTooLarge => Reject::BodyTooLarge(0),
            Attempt::ClientBody(m) => Reject::ClientBody(m),
            Attempt::Failed(m) => Reject::UpstreamFailed(pool.name.clone(), m),
        }
    }
}

async fn attempt(
    pool: &PoolRuntime,
    worker: usize,
    ep: usize,
    req: Request<ReqBody>,
) -> Result<Response<UpBody>, Attempt> {
    let e = &pool.endpoints[ep];
    let sent = upstream::send(
        &e.authority,
        pool.connect_timeout,
        pool.request_timeout,
        &e.idle,
        worker,
        req,
    )
    .await;
    sent.map_err(|f| match f {
        Failure::Timeout => Attempt::Timeout(pool.request_timeout),
        Failure::Connect(_) => Attempt::Connect,
        Failure::ClientBody { limit: true, .. } => Attempt::BodyTooLarge,
        Failure::ClientBody { message, .. } => Attempt::ClientBody(message),
        Failure::Upstream(m) => Attempt::Failed(m),
    })
}

fn is_empty(b: &ReqBody) -> bool {
    use http_body::Body;
    b.is_end_stream()
}

fn copy_head(req: &Request<ReqBody>) -> Request<ReqBody> {
    let mut r = Request::new(Either::Right(Empty::new()));
    *r.method_mut() = req.method().clone();
    *r.uri_mut() = req.uri().clone();
    *r.version_mut() = req.version();
    *r.headers_mut() = req.headers().clone();
    r
}
