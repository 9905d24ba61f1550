//! The HTTP side of `switchyard ctl`: one request to the admin API over plain http (hyper's
//! legacy client on a current-thread runtime), bounded by [`TIMEOUT`], with the bearer token.
//! A 2xx answer is returned as JSON; anything else becomes a [`CtlError`] that says what went
//! wrong in one place: the URL, the connection, or the server's problem document.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;

/// How long one exchange (connect, request and the whole answer) may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read (an audit page of 1000 entries fits easily).
const MAX_ANSWER: usize = 16 << 20;

/// Why a `ctl` command failed; the message is what the operator reads.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// `--url` is not an `http://host:port` base URL.
    #[error("invalid admin URL {url:?}: {why}")]
    BadUrl { url: String, why: String },
    /// Neither `--token` nor `SWITCHYARD_TOKEN` was given.
    #[error("no admin token: pass --token or set SWITCHYARD_TOKEN")]
    NoToken,
    /// The token cannot be sent in a header.
    #[error("the admin token contains characters that cannot be sent in a header")]
    BadToken,
    /// The connection could not be made.
    #[error("cannot reach the admin API at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// No complete answer within [`TIMEOUT`].
    #[error("no answer from the admin API at {url} within {}s", TIMEOUT.as_secs())]
    Timeout { url: String },
    /// A non-2xx answer, with its body (a problem document, normally).
    #[error("{}", super::render::problem(*status, body))]
    Refused { status: u16, body: Bytes },
    /// A 2xx answer that is not JSON, or a failure after connecting.
    #[error("unexpected answer from {url}: {why}")]
    BadAnswer { url: String, why: String },
    /// A local file to send (a policy module) cannot be read.
    #[error("cannot read {path}: {cause}")]
    File { path: String, cause: String },
}

/// A request body: its bytes and their `Content-Type`.
pub struct Payload {
    /// The bytes sent.
    pub bytes: Bytes,
    /// Their media type.
    pub content_type: &'static str,
}

impl Payload {
    /// A JSON document.
    pub fn json(v: &Value) -> Self {
        Payload {
            bytes: Bytes::from(v.to_string()),
            content_type: "application/json",
        }
    }
}

/// A validated admin API base URL and the `Authorization` header to send.
pub struct Admin {
    base: String,
    auth: HeaderValue,
}

impl Admin {
    /// Checks the base URL (`http://host:port`, optionally with a path prefix) and the token.
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, CtlError> {
        let base = url.trim().trim_end_matches('/').to_owned();
        let bad = |why: &str| CtlError::BadUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let uri: Uri = base
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("only plain http:// is supported")),
            _ => return Err(bad("expected http://HOST:PORT")),
        }
        if uri.authority().is_none() || uri.query().is_some() {
            return Err(bad("expected http://HOST:PORT"));
        }
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(CtlError::NoToken)?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| CtlError::BadToken)?;
        auth.set_sensitive(true);
        Ok(Admin { base, auth })
    }

    /// Sends one request (`path` starts with `/`) with an optional JSON body and returns the
    /// 2xx answer's JSON.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CtlError> {
        self.send_payload(method, path, body.map(Payload::json))
    }

    /// Sends one request with any body (`Content-Type` from the payload) and returns the 2xx
    /// answer's JSON.
    pub fn send_payload(
        &self,
        method: Method,
        path: &str,
        body: Option<Payload>,
    ) -> Result<Value, CtlError> {
        let url = format!("{}{path}", self.base);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CtlError::Unreachable {
                url: url.clone(),
                cause: format!("cannot start the I/O runtime: {e}"),
            })?;
        rt.block_on(async {
            tokio::time::timeout(TIMEOUT, self.exchange(method, &url, body))
                .await
                .unwrap_or_else(|_| Err(CtlError::Timeout { url: url.clone() }))
        })
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        body: Option<Payload>,
    ) -> Result<Value, CtlError> {
        let req = self.request(method, url, body)?;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let resp = client.request(req).await.map_err(|e| {
            let cause = causes(&e);
            if e.is_connect() {
                CtlError::Unreachable {
                    url: url.to_owned(),
                    cause,
                }
            } else {
                CtlError::BadAnswer {
                    url: url.to_owned(),
                    why: cause,
                }
            }
        })?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| CtlError::BadAnswer {
                url: url.to_owned(),
                why: format!("reading the answer: {e}"),
            })?
            .to_bytes();
        if !status.is_success() {
            return Err(CtlError::Refused {
                status: status.as_u16(),
                body: bytes,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| CtlError::BadAnswer {
            url: url.to_owned(),
            why: format!("{status} but not JSON: {e}"),
        })
    }

    fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<Payload>,
    ) -> Result<Request<Full<Bytes>>, CtlError> {
        let mut b = Request::builder()
            .method(method)
            .uri(url)
            .header(header::AUTHORIZATION, self.auth.clone())
            .header(header::ACCEPT, "application/json, application/problem+json")
            .header(
                header::USER_AGENT,
                concat!("switchyard-ctl/", env!("CARGO_PKG_VERSION")),
            );
        let body = match body {
            Some(p) => {
                b = b.header(header::CONTENT_TYPE, p.content_type);
                Full::new(p.bytes)
            }
            None => Full::default(),
        };
        b.body(body).map_err(|e| CtlError::BadUrl {
            url: url.to_owned(),
            why: e.to_string(),
        })
    }
}

/// The causes below a client error ("tcp connect error: Connection refused (os error 111)").
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        parts.push(cause.to_string());
        next = cause.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// A path segment with everything but RFC 3986 unreserved characters percent-encoded.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_and_tokens() {
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            (
                "http://127.0.0.1:9901",
                Some("t"),
                Ok("http://127.0.0.1:9901"),
            ),
            ("http://h:1/admin/", Some("t"), Ok("http://h:1/admin")),
            ("https://h:1", Some("t"), Err("only plain http")),
            ("127.0.0.1:9901", Some("t"), Err("expected http://")),
            ("http://h:1?x=1", Some("t"), Err("expected http://")),
            ("http://h:1", None, Err("no admin token")),
            ("http://h:1", Some("  "), Err("no admin token")),
            ("http://h:1", Some("a\nb"), Err("cannot be sent")),
        ];
        for (url, token, want) in cases {
            match (Admin::new(url, *token), want) {
                (Ok(a), Ok(base)) => assert_eq!(a.base, *base, "{url}"),
                (Err(e), Err(msg)) => assert!(e.to_string().contains(msg), "{url}: {e}"),
                (Ok(a), Err(msg)) => panic!("{url}: accepted as {}, want {msg}", a.base),
                (Err(e), Ok(_)) => panic!("{url}: {e}"),
            }
        }
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("odoo-v2_x.y~"), "odoo-v2_x.y~");
        assert_eq!(encode_segment("a/b c?"), "a%2Fb%20c%3F");
    }
}
