//! The key a partner delivery is deduplicated on (`dedupe.key` in config): a request header
//! (`header:webhook-id`, `header:Message-ID`, `header:Idempotency-Key`) or the body itself
//! (`body`). When the configured header is missing or empty the body hash is used instead:
//! a retry of a delivery without an id still carries the same bytes, and deduplicating on
//! them is safer than not deduplicating at all. Keys are namespaced so the two kinds never
//! collide: `id:<header value>` (or `id-sha256:<hex>` for a value that is long or not
//! visible ASCII, keeping keys short and printable) and `sha256:<hex of the raw body>`.

use super::RequestView;
use http::HeaderName;
use sha2::{Digest, Sha256};

/// Header values longer than this are hashed rather than used verbatim.
const MAX_VERBATIM: usize = 200;

/// What a delivery is deduplicated on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DedupeKey {
    /// A header's first value (falling back to the body hash when absent).
    Header(HeaderName),
    /// The SHA-256 of the raw body.
    BodyHash,
}

impl DedupeKey {
    /// Parses `header:<name>` or `body`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "body" {
            return Ok(DedupeKey::BodyHash);
        }
        match s.strip_prefix("header:").map(HeaderName::try_from) {
            Some(Ok(h)) => Ok(DedupeKey::Header(h)),
            _ => Err(format!(
                "invalid dedupe key {s:?} (expected header:<name> or body)"
            )),
        }
    }

    /// The request's dedupe key: `id:<value>`, `id-sha256:<hex>` or `sha256:<hex>`.
    pub fn extract(&self, req: &RequestView<'_>) -> String {
        let value = match self {
            DedupeKey::Header(name) => req.header(name).filter(|v| !v.is_empty()),
            DedupeKey::BodyHash => None,
        };
        match value {
            Some(v) if v.len() <= MAX_VERBATIM && v.iter().all(|b| b.is_ascii_graphic()) => {
                // All bytes are visible ASCII, so this is lossless.
                format!("id:{}", String::from_utf8_lossy(v))
            }
            Some(v) => format!("id-sha256:{}", hex::encode(Sha256::digest(v))),
            None => format!("sha256:{}", hex::encode(Sha256::digest(req.body))),
        }
    }
}
