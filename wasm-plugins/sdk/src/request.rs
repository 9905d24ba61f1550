//! The request a policy sees, what it may change, and how it answers.
//!
//! [`Exchange`] is the host surface (the request half of the http-wasm `http_handler` ABI);
//! [`Request`] is the typed view policies use on top of it: method, path, query, headers,
//! host, client address, body, plus the routing helpers ([`Request::route_to_pool`],
//! [`Request::route_to_variant`]). A policy's decision is a [`Verdict`]: continue to the next
//! handler, or answer the client itself with a [`Reply`].

use crate::net;
use std::net::IpAddr;

/// Request header a policy sets to pick the pool (switchyard reads and removes it).
pub const POOL_HEADER: &str = "X-Switchyard-Pool";
/// Request header a policy sets to pick the canary variant (switchyard reads and removes it).
pub const VARIANT_HEADER: &str = "X-Switchyard-Variant";

/// What a host offers a policy for one request. Implemented over the real ABI in wasm
/// builds and by `testing::FakeExchange` in native unit tests.
pub trait Exchange {
    /// `get_method`.
    fn method(&self) -> String;
    /// `get_uri`: origin-form path and query (`/web/login?db=x`).
    fn uri(&self) -> String;
    /// `get_header_names` (request kind). Hosts may report names lower-cased.
    fn header_names(&self) -> Vec<String>;
    /// `get_header_names`, each name handed to `f` without building a `String` per name.
    fn each_header_name(&self, f: &mut dyn FnMut(&str)) {
        for n in self.header_names() {
            f(&n);
        }
    }
    /// `get_header_values` (request kind), case-insensitive name.
    fn header_values(&self, name: &str) -> Vec<String>;
    /// `set_header_value`: replaces every value of `name`.
    fn set_header(&mut self, name: &str, value: &str);
    /// `add_header_value`: appends a value.
    fn add_header(&mut self, name: &str, value: &str);
    /// `remove_header`: removes every value of `name`.
    fn remove_header(&mut self, name: &str);
    /// `get_source_addr`: the client's `ip:port`.
    fn source_addr(&self) -> String;
    /// `read_body` (request kind): the next chunk of the body, `None` at the end. Needs
    /// [`crate::Features::BUFFER_REQUEST`] for the body to still reach the upstream afterwards.
    fn read_body_chunk(&mut self) -> Option<Vec<u8>>;
    /// `write_body` (request kind): replaces the body the upstream receives.
    fn write_body(&mut self, body: &[u8]);
}

/// Canary variant a policy may pin a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The stable deployment.
    Stable,
    /// The canary deployment.
    Canary,
}

impl Variant {
    /// `stable` / `canary`.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Stable => "stable",
            Variant::Canary => "canary",
        }
    }

    /// Parses `stable` / `canary` (any case).
    pub fn parse(s: &str) -> Option<Variant> {
        if s.trim().eq_ignore_ascii_case("stable") {
            Some(Variant::Stable)
        } else if s.trim().eq_ignore_ascii_case("canary") {
            Some(Variant::Canary)
        } else {
            None
        }
    }
}

/// The typed view of one request.
pub struct Request<'a> {
    ex: &'a mut dyn Exchange,
    /// The body read so far, whether reading started, and whether that is all of it.
    body: Vec<u8>,
    body_started: bool,
    body_done: bool,
}

impl<'a> Request<'a> {
    /// Wraps a host exchange.
    pub fn new(ex: &'a mut dyn Exchange) -> Self {
        Request {
            ex,
            body: Vec::new(),
            body_started: false,
            body_done: false,
        }
    }

    /// The method (`GET`).
    pub fn method(&self) -> String {
        self.ex.method()
    }

    /// Path and query as the host reports them.
    pub fn uri(&self) -> String {
        self.ex.uri()
    }

    /// The path (the URI before `?`).
    pub fn path(&self) -> String {
        let uri = self.ex.uri();
        match uri.split_once('?') {
            Some((p, _)) => p.to_owned(),
            None => uri,
        }
    }

    /// The raw query (after `?`), if any.
    pub fn query(&self) -> Option<String> {
        self.ex.uri().split_once('?').map(|(_, q)| q.to_owned())
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.ex.header_values(name).into_iter().next()
    }

    /// Every value of a header, in order.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.ex.header_values(name)
    }

    /// Every header name present.
    pub fn header_names(&self) -> Vec<String> {
        self.ex.header_names()
    }

    /// Every header name present, handed to `f` one by one (cheaper than
    /// [`Request::header_names`] on the hot path: no `String` per name).
    pub fn each_header_name(&self, f: &mut dyn FnMut(&str)) {
        self.ex.each_header_name(f)
    }

    /// The Host, lower-cased, without port (`acme.erp.example.com`); `None` when absent.
    pub fn host(&self) -> Option<String> {
        let h = self.header("host")?;
        let h = h.trim();
        let name = if let Some(v6) = h.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            h.rsplit_once(':').map_or(h, |(n, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    n
                } else {
                    h
                }
            })
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        (!name.is_empty()).then_some(name)
    }

    /// The client address as the host reports it (`ip:port`).
    pub fn source_addr(&self) -> String {
        self.ex.source_addr()
    }

    /// The client IP, when the host reports a parseable address.
    pub fn source_ip(&self) -> Option<IpAddr> {
        net::parse_source_addr(&self.ex.source_addr())
    }

    /// The whole request body (read once, then cached). Declare
    /// [`crate::Features::BUFFER_REQUEST`] so that the upstream still receives it. Prefer
    /// [`Request::body_prefix`]: the whole body of a large upload costs guest memory.
    pub fn body(&mut self) -> &[u8] {
        self.body_prefix(usize::MAX)
    }

    /// At most the first `limit` bytes of the body, read in chunks only as far as needed
    /// (and cached; a later call with a larger limit reads on).
    pub fn body_prefix(&mut self, limit: usize) -> &[u8] {
        self.body_started = true;
        while !self.body_done && self.body.len() < limit {
            match self.ex.read_body_chunk() {
                Some(chunk) if !chunk.is_empty() => self.body.extend_from_slice(&chunk),
                _ => self.body_done = true,
            }
        }
        &self.body[..self.body.len().min(limit)]
    }

    /// Hands the body back to the host once the policy let the request through: if the
    /// policy read any of it, the rest is read and the whole body written back
    /// (`write_body`). The SDK calls this after [`Verdict::Continue`]; policies need not.
    ///
    /// Why: Traefik's http-wasm host (http-wasm-host-go, `bufferingRequestBody`) keeps only
    /// the last chunk a guest read, so with *buffer request* alone a body longer than one
    /// read reaches the upstream truncated or empty. Writing the body back makes the upstream
    /// receive exactly the client's bytes on every host.
    pub fn restore_body(&mut self) {
        if !self.body_started {
            return;
        }
        self.body();
        if !self.body.is_empty() {
            self.ex.write_body(&self.body);
        }
    }

    /// Sets a request header (replacing its values).
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.ex.set_header(name, value);
    }

    /// Appends a request header value.
    pub fn add_header(&mut self, name: &str, value: &str) {
        self.ex.add_header(name, value);
    }

    /// Removes a request header (every value).
    pub fn remove_header(&mut self, name: &str) {
        self.ex.remove_header(name);
    }

    /// Routes the request to `pool`: sets `X-Switchyard-Pool: <pool>`. switchyard reads and
    /// removes the header and refuses a pool the request's tenant does not own; behind
    /// Traefik the header travels to the next hop.
    pub fn route_to_pool(&mut self, pool: &str) {
        self.ex.set_header(POOL_HEADER, pool);
    }

    /// Pins the request to a canary variant: sets `X-Switchyard-Variant: stable|canary`.
    pub fn route_to_variant(&mut self, variant: Variant) {
        self.ex.set_header(VARIANT_HEADER, variant.as_str());
    }
}

/// A policy's decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the (possibly edited) request on.
    Continue,
    /// Answer the client with this response; the request goes no further.
    Respond(Reply),
}

/// A response written by the policy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Response header fields (each name set once, in order).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl Reply {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// An HTML page (`text/html; charset=utf-8`, `Cache-Control: no-store`).
    pub fn html(status: u16, page: impl Into<String>) -> Self {
        Reply::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(page.into().into_bytes())
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// Refuses the request with `status` and a plain-text `body`.
pub fn deny(status: u16, body: &str) -> Verdict {
    Verdict::Respond(
        Reply::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("Cache-Control", "no-store")
            .body(body.as_bytes().to_vec()),
    )
}

/// Answers with `reply`.
pub fn respond(reply: Reply) -> Verdict {
    Verdict::Respond(reply)
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeExchange;

    #[test]
    fn view() {
        let mut ex = FakeExchange::get("/web/login?db=x&redirect=%2F")
            .header("Host", "Acme.ERP.example.com:8443")
            .source("[::1]:5000");
        let mut r = Request::new(&mut ex);
        assert_eq!(r.method(), "GET");
        assert_eq!(r.path(), "/web/login");
        assert_eq!(r.query().as_deref(), Some("db=x&redirect=%2F"));
        assert_eq!(r.host().as_deref(), Some("acme.erp.example.com"));
        assert_eq!(r.source_ip(), "::1".parse().ok());
        r.route_to_pool("workers");
        r.route_to_variant(Variant::Canary);
        assert_eq!(r.header("x-switchyard-pool").as_deref(), Some("workers"));
        assert_eq!(r.header("X-SWITCHYARD-VARIANT").as_deref(), Some("canary"));
    }

    #[test]
    fn hosts() {
        for (raw, want) in [
            ("a.example.com", Some("a.example.com")),
            ("a.example.com.", Some("a.example.com")),
            ("[::1]:80", Some("::1")),
            ("127.0.0.1:8080", Some("127.0.0.1")),
            ("", None),
        ] {
            let mut ex = FakeExchange::get("/").header("host", raw);
            assert_eq!(Request::new(&mut ex).host().as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn replies() {
        assert_eq!(
            deny(403, "no"),
            Verdict::Respond(Reply {
                status: 403,
                headers: vec![
                    ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                    ("Cache-Control".into(), "no-store".into())
                ],
                body: b"no".to_vec()
            })
        );
        assert_eq!(
            html_escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(Variant::parse(" Canary "), Some(Variant::Canary));
        assert_eq!(Variant::parse("blue"), None);
    }
}
