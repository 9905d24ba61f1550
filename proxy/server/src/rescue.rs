//! Every refusal the data plane makes is a [`Reject`]; this is the one place that turns one
//! into an `application/problem+json` response (RFC 9457) and names its reason code.

use crate::ctx::RequestCtx;
use crate::forward::{full, RespBody};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use std::time::Duration;
use switchyard_core::http1::HeadError;
use switchyard_core::path::PathError;
use switchyard_core::problem::{Problem, CONTENT_TYPE};

/// Why the proxy answered a request itself.
#[derive(Debug, thiserror::Error)]
pub enum Reject {
    /// The request head broke a syntax or framing rule (also used for h2 requests).
    #[error("{0}")]
    Head(HeadError),
    /// The request-target's path was refused.
    #[error("{0}")]
    Path(PathError),
    /// No route takes the request.
    #[error("no route for this host and path")]
    NoRoute,
    /// The TLS server name and the Host name different hosts.
    #[error("TLS server name {sni:?} does not match Host {host:?}")]
    Misdirected {
        /// SNI.
        sni: String,
        /// Canonical Host.
        host: String,
    },
    /// The database manager, from outside `db_manager_from`.
    #[error(
        "the Odoo database manager ({0}) is not reachable through this proxy from your address"
    )]
    DbManager(String),
    /// The request names another database than the tenant's.
    #[error("{0}")]
    WrongDatabase(String),
    /// A JSON-RPC body that cannot be judged (invalid, duplicate keys, too large).
    #[error("JSON-RPC body refused: {0}")]
    BadJsonRpc(String),
    /// Over a tenant's or partner's rate limit.
    #[error("{scope} {tenant:?} is over its rate limit; retry after {retry_after} s")]
    RateLimited {
        /// `tenant` or `partner`.
        scope: &'static str,
        /// The tenant or partner.
        tenant: String,
        /// `RateLimit-Policy` value.
        policy: String,
        /// `RateLimit` value.
        state: String,
        /// Seconds.
        retry_after: u64,
    },
    /// The tenant's share of the pool is taken and its queue cannot hold the request.
    #[error("tenant {tenant:?} has too many requests in flight: {reason}")]
    Overloaded {
        /// Tenant ("" without one).
        tenant: String,
        /// Why.
        reason: &'static str,
    },
    /// A webhook route, and no partner matches the request.
    #[error("no partner webhook is configured for this path")]
    UnknownPartner,
    /// The partner does not accept this content type.
    #[error("partner {0:?} does not accept this content type")]
    WebhookMediaType(String),
    /// Verification failed.
    #[error("webhook of partner {partner:?} not verified: {reason}")]
    WebhookUnverified {
        /// Partner.
        partner: String,
        /// What failed.
        reason: String,
    },
    /// The partner's body must be JSON and is not.
    #[error("partner {0:?} sends JSON; this body is not valid JSON")]
    WebhookMalformed(String),
    /// The state backend did not answer and the partner fails closed.
    #[error("partner {0:?}: the shared state is unavailable and this partner fails closed")]
    StateUnavailable(String),
    /// The spool could not make the webhook durable (disk full, I/O error).
    #[error("the webhook could not be stored durably: {0}")]
    SpoolUnavailable(String),
    /// A policy call failed and the policy denies on error.
    #[error("policy {0:?} could not decide on this request")]
    PolicyFailed(String),
    /// A policy picked a pool that does not exist or serves other tenants.
    #[error("policy {policy:?} picked pool {pool:?}, which this request may not use")]
    PolicyPool {
        /// Policy.
        policy: String,
        /// Pool named.
        pool: String,
    },
    /// A pool owned by other tenants.
    #[error("pool {0:?} serves other tenants only")]
    OwnedPool(String),
    /// Two identification sources name different tenants.
    #[error("{0}")]
    TenantConflict(String),
    /// The host names a tenant that is not configured.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// The declared or streamed body is over `server.limits.max_body`.
    #[error("request body over {0} bytes")]
    BodyTooLarge(u64),
    /// Every endpoint of the pool is unhealthy.
    #[error("no healthy endpoint in pool {0:?}")]
    NoHealthyEndpoint(String),
    /// The upstream could not be reached.
    #[error("upstream in pool {0:?} unreachable")]
    UpstreamUnreachable(String),
    /// The upstream did not answer in time.
    #[error("upstream in pool {0:?} did not answer within {1:?}")]
    UpstreamTimeout(String, Duration),
    /// The upstream broke the exchange.
    #[error("upstream in pool {0:?} failed: {1}")]
    UpstreamFailed(String, String),
    /// The client's request body broke off or broke its framing.
    #[error("the request body could not be read: {0}")]
    ClientBody(String),
    /// The request head did not arrive in time.
    #[error("the request head did not arrive within the header timeout")]
    HeadTimeout,
    /// The request is itself a change (`freeze.block_requests`) and a freeze covers it.
    #[error("this request is a change refused while freeze window {window:?} is in force (until {})", end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))]
    Frozen {
        /// The window.
        window: String,
        /// When its scope is unfrozen.
        end: chrono::DateTime<chrono::Utc>,
    },
}

impl Reject {
    /// The problem document (status, code, title, detail, explaining fields).
    pub fn problem(&self) -> Problem {
        let detail = self.to_string();
        match self {
            Reject::Head(e) => match e {
                HeadError::TooLarge => Problem::new(
                    431,
                    "header-too-large",
                    "Request header fields too large",
                    detail,
                ),
                HeadError::UriTooLong => Problem::new(414, "uri-too-long", "URI too long", detail),
                HeadError::Malformed(_) => {
                    Problem::new(400, "malformed-request", "Malformed request", detail)
                }
            },
            Reject::Path(_) => Problem::new(400, "invalid-path", "Invalid request path", detail),
            Reject::NoRoute => Problem::new(404, "no-route", "No route", detail),
            Reject::Misdirected { .. } => {
                Problem::new(421, "misdirected-request", "Misdirected request", detail)
            }
            Reject::DbManager(_) => Problem::new(
                403,
                "db-manager-blocked",
                "Database manager blocked",
                detail,
            ),
            Reject::WrongDatabase(_) => {
                Problem::new(403, "database-pinned", "Another database", detail)
            }
            Reject::BadJsonRpc(_) => {
                Problem::new(400, "invalid-jsonrpc", "Invalid JSON-RPC body", detail)
            }
            Reject::UnknownPartner => {
                Problem::new(404, "unknown-partner", "Unknown partner", detail)
            }
            Reject::WebhookMediaType(p) => Problem::new(
                415,
                "unsupported-media-type",
                "Unsupported media type",
                detail,
            )
            .with("partner", p.as_str()),
            Reject::WebhookUnverified { partner, .. } => {
                Problem::new(401, "webhook-unverified", "Webhook not verified", detail)
                    .with("partner", partner.as_str())
            }
            Reject::WebhookMalformed(p) => {
                Problem::new(400, "malformed-body", "Malformed body", detail)
                    .with("partner", p.as_str())
            }
            Reject::StateUnavailable(p) => {
                Problem::new(503, "state-unavailable", "Shared state unavailable", detail)
                    .with("partner", p.as_str())
                    .with("retry_after", 1)
            }
            Reject::SpoolUnavailable(_) => {
                Problem::new(503, "spool-unavailable", "Cannot store the webhook", detail)
                    .with("retry_after", 5)
            }
            Reject::PolicyFailed(p) => Problem::new(503, "policy-failed", "Policy failed", detail)
                .with("policy", p.as_str())
                .with("retry_after", 1),
            Reject::PolicyPool { policy, .. } => {
                Problem::new(403, "policy-pool-refused", "Pool refused", detail)
                    .with("policy", policy.as_str())
            }
            Reject::RateLimited {
                scope,
                tenant,
                retry_after,
                ..
            } => Problem::new(429, "quota-exceeded", "Rate limit exceeded", detail)
                .with(scope, tenant.as_str())
                .with("retry_after", *retry_after),
            Reject::Overloaded { tenant, .. } => {
                Problem::new(503, "overloaded", "Too many requests in flight", detail)
                    .with("tenant", tenant.as_str())
                    .with("retry_after", 1)
            }
            Reject::OwnedPool(p) => {
                Problem::new(403, "owned-pool", "Pool owned by other tenants", detail)
                    .with("pool", p.as_str())
            }
            Reject::TenantConflict(_) => {
                Problem::new(421, "tenant-conflict", "Tenant sources disagree", detail)
            }
            Reject::UnknownTenant(t) => {
                Problem::new(404, "unknown-tenant", "Unknown tenant", detail)
                    .with("tenant", t.as_str())
            }
            Reject::BodyTooLarge(max) => {
                Problem::new(413, "body-too-large", "Request body too large", detail)
                    .with("limit", *max)
            }
            Reject::NoHealthyEndpoint(p) => {
                Problem::new(503, "no-healthy-endpoint", "No healthy upstream", detail)
                    .with("pool", p.as_str())
                    .with("retry_after", 1)
            }
            Reject::UpstreamUnreachable(p) => {
                Problem::new(502, "upstream-unreachable", "Upstream unreachable", detail)
                    .with("pool", p.as_str())
            }
            Reject::UpstreamTimeout(p, _) => {
                Problem::new(504, "upstream-timeout", "Upstream timeout", detail)
                    .with("pool", p.as_str())
            }
            Reject::UpstreamFailed(p, _) => {
                Problem::new(502, "upstream-failed", "Upstream failed", detail)
                    .with("pool", p.as_str())
            }
            Reject::ClientBody(_) => {
                Problem::new(400, "bad-request-body", "Bad request body", detail)
            }
            Reject::HeadTimeout => Problem::new(408, "header-timeout", "Request timeout", detail),
            Reject::Frozen { window, end } => Problem::new(423, "frozen", "Change frozen", detail)
                .with("window", window.as_str())
                .with(
                    "end",
                    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )
                .with(
                    "retry_after",
                    (*end - chrono::Utc::now()).num_seconds().max(1),
                ),
        }
    }

    /// Reason code for the access log and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::Head(HeadError::TooLarge) => "reject:header-too-large",
            Reject::Head(HeadError::UriTooLong) => "reject:uri-too-long",
            Reject::Head(HeadError::Malformed(_)) => "reject:malformed",
            Reject::Path(_) => "reject:invalid-path",
            Reject::NoRoute => "reject:no-route",
            Reject::Misdirected { .. } => "reject:misdirected",
            Reject::UnknownTenant(_) => "reject:unknown-tenant",
            Reject::TenantConflict(_) => "reject:tenant-conflict",
            Reject::DbManager(_) => "odoo:db-manager",
            Reject::WrongDatabase(_) => "odoo:database-pinned",
            Reject::BadJsonRpc(_) => "odoo:invalid-jsonrpc",
            Reject::OwnedPool(_) => "reject:owned-pool",
            Reject::RateLimited { .. } => "admission:rate-limited",
            Reject::UnknownPartner => "webhook:unknown-partner",
            Reject::PolicyFailed(_) => "policy:failed",
            Reject::PolicyPool { .. } => "policy:pool-refused",
            Reject::WebhookMediaType(_) => "webhook:media-type",
            Reject::WebhookUnverified { .. } => "webhook:unverified",
            Reject::WebhookMalformed(_) => "webhook:malformed",
            Reject::StateUnavailable(_) => "webhook:state-unavailable",
            Reject::SpoolUnavailable(_) => "webhook:spool-unavailable",
            Reject::Overloaded { .. } => "admission:overloaded",
            Reject::BodyTooLarge(_) => "reject:body-too-large",
            Reject::NoHealthyEndpoint(_) => "upstream:no-healthy-endpoint",
            Reject::UpstreamUnreachable(_) => "upstream:unreachable",
            Reject::UpstreamTimeout(..) => "upstream:timeout",
            Reject::UpstreamFailed(..) => "upstream:failed",
            Reject::ClientBody(_) => "reject:client-body",
            Reject::HeadTimeout => "reject:header-timeout",
            Reject::Frozen { .. } => "freeze:blocked",
        }
    }
}

/// Answers a rejected request and records the outcome in its context.
pub fn respond(reject: Reject, ctx: &mut RequestCtx) -> Response<RespBody> {
    let problem = reject.problem();
    let quota = match &reject {
        Reject::RateLimited { policy, state, .. } => Some((policy.clone(), state.clone())),
        _ => None,
    };
    ctx.status = problem.status;
    ctx.reason = reject.reason();
    ctx.rejected = true;
    let mut resp = Response::new(full(Bytes::from(problem.to_json(ctx.id()))));
    *resp.status_mut() = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(secs) = problem.extra.get("retry_after").and_then(|v| v.as_u64()) {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some((policy, state)) = quota {
        for (name, v) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(v) = HeaderValue::try_from(v) {
                h.insert(http::HeaderName::from_static(name), v);
            }
        }
    }
    if problem.status == 400
        || problem.status == 408
        || problem.status == 431
        || problem.status == 414
    {
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A complete raw HTTP/1.1 response for a refusal made before the HTTP engine saw the
/// request (strict framing, limits, head timeout); the connection is closed after it.
pub fn raw_response(reject: &Reject, request_id: &str) -> Vec<u8> {
    let p = reject.problem();
    let body = p.to_json(request_id);
    let reason = StatusCode::from_u16(p.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Bad Request");
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {CONTENT_TYPE}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n",
        p.status,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}
