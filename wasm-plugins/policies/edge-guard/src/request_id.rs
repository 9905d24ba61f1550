//! Request ids without a random source.
//!
//! The module may import nothing beyond the http-wasm ABI and four WASI functions, so there
//! is no `random_get` and no clock. An id is instead a 128-bit SipHash chain over everything
//! the instance has seen: a per-instance counter, the previous id, and the request itself
//! (client `ip:port`, method, URI, every header field). Two ids collide only if two instances
//! have identical histories and then see byte-identical requests from the same client
//! `ip:port`. Not a secret and not meant to be: switchyard's own ids (when it generates them)
//! are random; a deployment needing that keeps `request_id: off` here and lets switchyard
//! add the id.

use std::cell::Cell;
use std::hash::{DefaultHasher, Hash, Hasher};
use switchyard_policy_sdk::Request;

/// Per-instance id generator (instances are single-threaded).
#[derive(Debug, Default)]
pub struct IdGen {
    state: Cell<(u64, u64)>,
    counter: Cell<u64>,
}

impl IdGen {
    /// The next id for `req`: 32 lower-case hex digits.
    pub fn next(&self, req: &Request<'_>) -> String {
        let n = self.counter.get().wrapping_add(1);
        self.counter.set(n);
        let (s0, s1) = self.state.get();
        let mut h = DefaultHasher::new();
        (s0, s1, n).hash(&mut h);
        req.source_addr().hash(&mut h);
        req.method().hash(&mut h);
        req.uri().hash(&mut h);
        for name in req.header_names() {
            name.hash(&mut h);
            req.header_values(&name).hash(&mut h);
        }
        let a = h.finish();
        let mut h2 = DefaultHasher::new();
        (a, s1, n, "switchyard").hash(&mut h2);
        let b = h2.finish();
        self.state.set((a, b));
        format!("{a:016x}{b:016x}")
    }
}

/// What switchyard accepts from a trusted peer: 1–128 bytes of visible ASCII.
pub fn well_formed(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}
