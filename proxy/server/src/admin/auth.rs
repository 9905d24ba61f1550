//! Admin authentication and authorisation: bearer tokens compared in constant time (over
//! SHA-256 digests, so length leaks nothing either), the least role per endpoint, and refusal
//! of cross-origin browser requests (an `Origin` that is not the admin listener itself).

use crate::live::Shared;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use switchyard_core::config::Role;
use switchyard_core::problem::{Problem, CONTENT_TYPE};

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Checks origin, token and role.
pub fn authorize(headers: &HeaderMap, need: Role, shared: &Shared) -> Result<Caller, Problem> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin = origin.to_str().unwrap_or("");
        let same = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host));
        if !same {
            return Err(Problem::new(
                403,
                "foreign-origin",
                "Foreign origin",
                format!("requests from origin {origin:?} are refused"),
            ));
        }
    }
    let unauthorized = |d: &str| Problem::new(401, "unauthorized", "Unauthorized", d.to_owned());
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(|| {
            unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        })?;
    let digest = Sha256::digest(presented.trim().as_bytes());
    let snap = shared.live.load();
    let mut found: Option<Caller> = None;
    for t in &snap.config.admin.tokens {
        let eq: bool = Sha256::digest(t.secret.as_bytes()).ct_eq(&digest).into();
        if eq && found.is_none() {
            found = Some(Caller {
                name: t.name.clone(),
                role: t.role,
            });
        }
    }
    let caller = found.ok_or_else(|| unauthorized("the token is not valid"))?;
    if caller.role < need {
        return Err(Problem::new(
            403,
            "forbidden",
            "Forbidden",
            format!(
                "token {:?} has role {:?}; this needs {:?}",
                caller.name, caller.role, need
            ),
        )
        .with("required_role", format!("{need:?}")));
    }
    Ok(caller)
}

/// A problem+json response.
pub fn problem_response(p: Problem) -> Response {
    let id = crate::ctx::new_request_id();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, p.to_json(&id)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(secs) = p
        .extra
        .get("retry_after")
        .and_then(serde_json::Value::as_u64)
    {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    r
}
