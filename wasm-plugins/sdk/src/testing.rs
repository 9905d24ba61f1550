//! A fake host for native unit tests of policies (`cargo test --target <host triple>`):
//! an in-memory request that behaves like the http-wasm hosts do (names reported
//! lower-cased, case-insensitive lookups, `set` replaces, `remove` removes every value).

use crate::request::{Exchange, Request, Verdict};
use crate::Policy;

/// Chunk size of body reads (http-wasm-guest reads through a 2048-byte buffer).
pub const CHUNK: usize = 2048;

/// An in-memory request.
#[derive(Debug, Clone, Default)]
pub struct FakeExchange {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Header fields in order, names as given.
    pub headers: Vec<(String, String)>,
    /// `ip:port` of the client.
    pub source: String,
    /// Request body.
    pub body: Vec<u8>,
    /// How many body chunks the policy read (hosts hand the body over in chunks).
    pub chunks_read: usize,
    /// Bytes of the body handed over so far.
    pub body_pos: usize,
    /// What the policy wrote back as the request body, if anything.
    pub written_body: Option<Vec<u8>>,
}

impl FakeExchange {
    /// A request with `method` and `uri` from `127.0.0.1:40000`.
    pub fn new(method: &str, uri: &str) -> Self {
        FakeExchange {
            method: method.to_owned(),
            uri: uri.to_owned(),
            source: "127.0.0.1:40000".to_owned(),
            ..FakeExchange::default()
        }
    }

    /// A `GET`.
    pub fn get(uri: &str) -> Self {
        Self::new("GET", uri)
    }

    /// Adds a header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the client address.
    pub fn source(mut self, addr: &str) -> Self {
        self.source = addr.to_owned();
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// Every value of `name` (case-insensitive).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Runs `policy` on this request as the SDK's guest glue does (including
    /// [`Request::restore_body`] after `Continue`) and returns its verdict.
    pub fn run<P: Policy>(&mut self, policy: &P) -> Verdict {
        let mut req = Request::new(self);
        let verdict = policy.on_request(&mut req);
        if verdict == Verdict::Continue {
            req.restore_body();
        }
        verdict
    }

    /// The body the upstream would receive.
    pub fn forwarded_body(&self) -> &[u8] {
        self.written_body.as_deref().unwrap_or(&self.body)
    }
}

impl Exchange for FakeExchange {
    fn method(&self) -> String {
        self.method.clone()
    }
    fn uri(&self) -> String {
        self.uri.clone()
    }
    fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }
    fn header_values(&self, name: &str) -> Vec<String> {
        self.values(name)
    }
    fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }
    fn add_header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }
    fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    fn source_addr(&self) -> String {
        self.source.clone()
    }
    fn read_body_chunk(&mut self) -> Option<Vec<u8>> {
        let end = (self.body_pos + CHUNK).min(self.body.len());
        let chunk = self.body.get(self.body_pos..end)?.to_vec();
        self.body_pos = end;
        self.chunks_read += 1;
        (!chunk.is_empty()).then_some(chunk)
    }
    fn write_body(&mut self, body: &[u8]) {
        self.written_body = Some(body.to_vec());
    }
}
