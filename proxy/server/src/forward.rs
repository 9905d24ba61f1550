//! Forwarding to a pool: pick the next healthy endpoint round-robin, send over a keep-alive
//! connection pool (one client per worker thread, so connections stay on the thread that
//! uses them), bound the wait for the response head by the pool's request timeout, and retry
//! an idempotent, body-less request once on another endpoint after a connect failure.

use crate::health::EndpointHealth;
use crate::rescue::Reject;
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{combinators::BoxBody, BodyExt, Either, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::config::Pool;

/// Body sent upstream: the client's body under the size limit, or nothing.
pub type ReqBody = Either<Limited<Incoming>, Empty<Bytes>>;
/// Body sent to the client: the upstream's, or one the proxy wrote.
pub type RespBody = Either<Incoming, BoxBody<Bytes, hyper::Error>>;
/// The upstream HTTP client type.
pub type UpstreamClient = Client<HttpConnector, ReqBody>;

/// A response body the proxy wrote.
pub fn full(b: Bytes) -> RespBody {
    Either::Right(Full::new(b).map_err(|never| match never {}).boxed())
}

/// Builds a client with the pool's connect timeout.
pub fn client(connect_timeout: Duration) -> UpstreamClient {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http.enforce_http(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .set_host(false)
        .build(http)
}

/// A pool as the data plane sees it: endpoints, their health, the round-robin cursor and one
/// client per worker. Built per snapshot from long-lived parts kept by name across reloads.
pub struct PoolRuntime {
    /// Config name.
    pub name: String,
    /// Endpoints with their health.
    pub endpoints: Vec<Arc<EndpointHealth>>,
    /// Round-robin cursor (kept across reloads).
    pub cursor: Arc<AtomicUsize>,
    /// One client per worker thread (kept across reloads).
    pub clients: Arc<Vec<UpstreamClient>>,
    /// Response-head timeout.
    pub request_timeout: Duration,
}

impl PoolRuntime {
    /// Next healthy endpoint after the cursor, skipping `not`.
    pub fn pick(&self, not: Option<usize>) -> Option<usize> {
        let n = self.endpoints.len();
        let start = if n > 1 { self.cursor.fetch_add(1, Ordering::Relaxed) } else { 0 };
        (0..n).map(|i| (start + i) % n).find(|&i| Some(i) != not && self.endpoints[i].is_healthy())
    }
}

/// Builds the pool runtimes for a config, reusing long-lived parts from `keep`.
pub fn pools(cfg: &[Pool], workers: usize, keep: &crate::health::Registry) -> Vec<Arc<PoolRuntime>> {
    cfg.iter()
        .map(|p| {
            let (cursor, clients) = keep.pool_parts(&p.name, p.connect_timeout, workers);
            Arc::new(PoolRuntime {
                name: p.name.clone(),
                endpoints: p.endpoints.iter().map(|e| keep.endpoint(&p.name, e)).collect(),
                cursor,
                clients,
                request_timeout: p.request_timeout,
            })
        })
        .collect()
}

/// What the pipeline learns from forwarding.
pub struct Forwarded {
    /// The upstream's response.
    pub response: Response<Incoming>,
    /// The endpoint that answered.
    pub endpoint: usize,
    /// Tries made.
    pub attempts: u8,
}

/// Sends `req` (origin-form URI) to the pool.
pub async fn send(pool: &PoolRuntime, worker: usize, req: Request<ReqBody>) -> Result<Forwarded, Reject> {
    let first = pool.pick(None).ok_or_else(|| Reject::NoHealthyEndpoint(pool.name.clone()))?;
    let retry_copy = (pool.endpoints.len() > 1 && req.method().is_idempotent() && is_empty(req.body())).then(|| copy_head(&req));
    let client = &pool.clients[worker % pool.clients.len()];
    match attempt(pool, client, first, req).await {
        Ok(response) => Ok(Forwarded { response, endpoint: first, attempts: 1 }),
        Err(Attempt::Connect) => {
            pool.endpoints[first].mark_failed();
            let (Some(again), Some(next)) = (retry_copy, pool.pick(Some(first))) else {
                return Err(Reject::UpstreamUnreachable(pool.name.clone()));
            };
            match attempt(pool, client, next, again).await {
                Ok(response) => Ok(Forwarded { response, endpoint: next, attempts: 2 }),
                Err(e) => Err(e.into_reject(pool)),
            }
        }
        Err(e) => Err(e.into_reject(pool)),
    }
}

enum Attempt {
    Connect,
    Timeout(Duration),
    BodyTooLarge(u64),
    ClientBody(String),
    Failed(String),
}

impl Attempt {
    fn into_reject(self, pool: &PoolRuntime) -> Reject {
        match self {
            Attempt::Connect => Reject::UpstreamUnreachable(pool.name.clone()),
            Attempt::Timeout(d) => Reject::UpstreamTimeout(pool.name.clone(), d),
            Attempt::BodyTooLarge(n) => Reject::BodyTooLarge(n),
            Attempt::ClientBody(m) => Reject::ClientBody(m),
            Attempt::Failed(m) => Reject::UpstreamFailed(pool.name.clone(), m),
        }
    }
}

async fn attempt(pool: &PoolRuntime, client: &UpstreamClient, ep: usize, mut req: Request<ReqBody>) -> Result<Response<Incoming>, Attempt> {
    let authority = pool.endpoints[ep].authority.as_str();
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let uri = Uri::builder().scheme("http").authority(authority).path_and_query(pq).build().map_err(|e| Attempt::Failed(e.to_string()))?;
    *req.uri_mut() = uri;
    match tokio::time::timeout(pool.request_timeout, client.request(req)).await {
        Err(_) => Err(Attempt::Timeout(pool.request_timeout)),
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) if e.is_connect() => Err(Attempt::Connect),
        Ok(Err(e)) => Err(classify(&e)),
    }
}

fn classify(e: &hyper_util::client::legacy::Error) -> Attempt {
    let chain = || std::iter::successors(std::error::Error::source(e), |s| s.source());
    if chain().any(|s| s.is::<http_body_util::LengthLimitError>()) {
        return Attempt::BodyTooLarge(0);
    }
    // An error from the request body is the client's (it broke off or broke framing).
    if let Some(h) = chain().find_map(|s| s.downcast_ref::<hyper::Error>()) {
        if h.is_user() || h.is_body_write_aborted() || h.is_incomplete_message() {
            let root = chain().last().map_or_else(|| h.to_string(), |r| r.to_string());
            return Attempt::ClientBody(root);
        }
    }
    Attempt::Failed(chain().last().map_or_else(|| e.to_string(), |r| r.to_string()))
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
