//! Standard Webhooks (<https://www.standardwebhooks.com>): headers `webhook-id`,
//! `webhook-timestamp` (unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256>` and/or `v1a,<base64 ed25519>` entries over the content
//! `{id}.{timestamp}.{raw body}`. Symmetric keys are written `whsec_<base64>`, public keys
//! `whpk_<base64 of 32 bytes>`; with several keys (rotation) any match passes. Entries of
//! other versions are ignored, as the spec asks. The timestamp is checked against the
//! tolerance before any signature is computed.

use super::{check_timestamp, header_text, RequestView, Verified, VerifyError, BASE64};
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};

static WEBHOOK_ID: http::HeaderName = http::HeaderName::from_static("webhook-id");
static WEBHOOK_TIMESTAMP: http::HeaderName = http::HeaderName::from_static("webhook-timestamp");
static WEBHOOK_SIGNATURE: http::HeaderName = http::HeaderName::from_static("webhook-signature");

/// More signature entries than this in one header are refused as malformed (each `v1a`
/// entry costs an ed25519 verification per public key).
const MAX_ENTRIES: usize = 16;
/// Decoded symmetric keys shorter than this are refused (the spec asks for 24..=64 bytes).
const MIN_SECRET_BYTES: usize = 16;

/// A `whsec_` key, ready to sign. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SymmetricKey(Hmac<Sha256>);

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SymmetricKey(***)")
    }
}

impl SymmetricKey {
    /// Parses `whsec_<base64>`; the key is the decoded bytes (at least 16 of them).
    pub fn parse(secret: &str) -> Result<Self, String> {
        let b64 = secret
            .strip_prefix("whsec_")
            .ok_or("a Standard Webhooks secret must start with whsec_")?;
        let key = BASE64
            .decode(b64.trim())
            .map_err(|_| "the part after whsec_ is not valid base64")?;
        if key.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the secret decodes to {} bytes; at least {MIN_SECRET_BYTES} are needed",
                key.len()
            ));
        }
        Hmac::new_from_slice(&key)
            .map(SymmetricKey)
            .map_err(|e| e.to_string())
    }
}

/// A `whpk_` ed25519 public key.
#[derive(Debug, Clone)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses `whpk_<base64 of 32 bytes>`, refusing bytes that are not a curve point.
    pub fn parse(key: &str) -> Result<Self, String> {
        let b64 = key
            .strip_prefix("whpk_")
            .ok_or("a Standard Webhooks public key must start with whpk_")?;
        let bytes = BASE64
            .decode(b64.trim())
            .map_err(|_| "the part after whpk_ is not valid base64")?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "an ed25519 public key is 32 bytes")?;
        VerifyingKey::from_bytes(&arr)
            .map(PublicKey)
            .map_err(|_| "not a valid ed25519 public key".to_owned())
    }
}

/// A compiled Standard Webhooks verifier.
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    keys: Vec<SymmetricKey>,
    public_keys: Vec<PublicKey>,
    tolerance_secs: u64,
}

/// One parsed `webhook-signature` entry of a known version.
enum Entry {
    V1(Vec<u8>),
    V1a(Vec<u8>),
}

impl StandardWebhooks {
    /// A verifier accepting `v1` signatures by any of `keys` and `v1a` signatures by any of
    /// `public_keys`, with timestamps within `tolerance` (whole seconds) of now. At least one
    /// key of either kind is needed.
    pub fn new(
        keys: Vec<SymmetricKey>,
        public_keys: Vec<PublicKey>,
        tolerance: Duration,
    ) -> Result<Self, String> {
        if keys.is_empty() && public_keys.is_empty() {
            return Err("needs at least one secret or public key".into());
        }
        Ok(StandardWebhooks {
            keys,
            public_keys,
            tolerance_secs: tolerance.as_secs(),
        })
    }

    /// Verifies a delivery; `Verified::id` is its `webhook-id`.
    pub fn verify(&self, req: &RequestView<'_>, now_unix: i64) -> Result<Verified, VerifyError> {
        let id = header_text(req, &WEBHOOK_ID)?;
        let ts = header_text(req, &WEBHOOK_TIMESTAMP)?;
        let sigs = header_text(req, &WEBHOOK_SIGNATURE)?;
        if id.is_empty() {
            return Err(VerifyError::Malformed("webhook-id is empty".into()));
        }
        check_timestamp(ts, &WEBHOOK_TIMESTAMP, now_unix, self.tolerance_secs)?;
        let entries = parse_entries(sigs)?;
        if self.v1_matches(id, ts, req.body, &entries)
            || self.v1a_matches(id, ts, req.body, &entries)
        {
            Ok(Verified {
                id: Some(id.to_owned()),
            })
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    fn v1_matches(&self, id: &str, ts: &str, body: &[u8], entries: &[Entry]) -> bool {
        let mut ok = Choice::from(0);
        for key in &self.keys {
            let mut mac = key.0.clone();
            for part in [id.as_bytes(), b".", ts.as_bytes(), b".", body] {
                mac.update(part);
            }
            let tag = mac.finalize().into_bytes();
            for e in entries {
                if let Entry::V1(sig) = e {
                    ok |= tag.as_slice().ct_eq(sig);
                }
            }
        }
        ok.into()
    }

    fn v1a_matches(&self, id: &str, ts: &str, body: &[u8], entries: &[Entry]) -> bool {
        let sigs: Vec<Signature> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::V1a(sig) => Signature::from_slice(sig).ok(),
                Entry::V1(_) => None,
            })
            .collect();
        if sigs.is_empty() || self.public_keys.is_empty() {
            return false;
        }
        let msg = [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat();
        self.public_keys
            .iter()
            .any(|pk| sigs.iter().any(|s| pk.0.verify_strict(&msg, s).is_ok()))
    }
}

/// Splits `webhook-signature` into its entries of known versions, base64-decoded.
fn parse_entries(raw: &str) -> Result<Vec<Entry>, VerifyError> {
    let malformed = |m: String| Err(VerifyError::Malformed(format!("webhook-signature {m}")));
    let mut out = Vec::new();
    for (i, entry) in raw.split_ascii_whitespace().enumerate() {
        if i == MAX_ENTRIES {
            return malformed(format!("has more than {MAX_ENTRIES} entries"));
        }
        let Some((version, sig)) = entry.split_once(',') else {
            return malformed(format!("entry {} is not <version>,<signature>", i + 1));
        };
        let decode = || BASE64.decode(sig).ok();
        match version {
            "v1" | "v1a" => match decode() {
                Some(bytes) if version == "v1" => out.push(Entry::V1(bytes)),
                Some(bytes) => out.push(Entry::V1a(bytes)),
                None => return malformed(format!("entry {} is not valid base64", i + 1)),
            },
            _ => {}
        }
    }
    if raw.trim().is_empty() {
        return malformed("is empty".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
