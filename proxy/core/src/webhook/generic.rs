//! A configurable HMAC scheme for partners that do not speak Standard Webhooks: the signature
//! sits in one header, optionally after a prefix (`sha256=` GitHub-style), hex or base64
//! encoded, computed with HMAC-SHA256 or HMAC-SHA512 over a content built from a
//! [`Template`] of `{body}`, `{timestamp}` (a unix-seconds header checked against a
//! tolerance first) and `{id}` (a message-id header) with literal text between. The secret's
//! bytes are the key as written (no decoding); several secrets (rotation) → any match passes.

use super::{check_timestamp, header_text, RequestView, Verified, VerifyError, BASE64};
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderName;
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Sha256, Sha512};
use std::time::Duration;
use subtle::{Choice, ConstantTimeEq};

/// The HMAC's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// How the signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Hexadecimal, either case.
    Hex,
    /// Standard base64, padding optional.
    Base64,
}

/// One piece of the signed content.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    Body,
    Timestamp,
    Id,
}

/// The signed-content template, e.g. `{timestamp}.{body}`; the default is `{body}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Default for Template {
    fn default() -> Self {
        Template(vec![Part::Body])
    }
}

impl Template {
    /// Parses a template: `{body}` (required), `{timestamp}` and `{id}` placeholders with
    /// literal text between; any other `{…}` or a stray brace is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find(['{', '}']) {
            if open > 0 {
                parts.push(Part::Literal(rest.as_bytes()[..open].to_vec()));
            }
            let tail = &rest[open..];
            let (part, len) = match tail {
                t if t.starts_with("{body}") => (Part::Body, 6),
                t if t.starts_with("{timestamp}") => (Part::Timestamp, 11),
                t if t.starts_with("{id}") => (Part::Id, 4),
                _ => {
                    return Err(format!(
                        "invalid template {s:?}: only {{body}}, {{timestamp}} and {{id}} may appear in braces"
                    ))
                }
            };
            parts.push(part);
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.as_bytes().to_vec()));
        }
        if !parts.contains(&Part::Body) {
            return Err(format!("invalid template {s:?}: it must contain {{body}}"));
        }
        Ok(Template(parts))
    }

    /// True when the template signs the timestamp.
    pub fn uses_timestamp(&self) -> bool {
        self.0.contains(&Part::Timestamp)
    }

    /// True when the template signs the message id.
    pub fn uses_id(&self) -> bool {
        self.0.contains(&Part::Id)
    }
}

/// The settings of a [`HmacVerifier`] other than its secrets.
#[derive(Debug, Clone)]
pub struct HmacSettings {
    /// Header carrying the signature.
    pub header: HeaderName,
    /// Hash.
    pub algorithm: Algorithm,
    /// Signature encoding.
    pub encoding: Encoding,
    /// Text before the encoded signature (may be empty).
    pub prefix: String,
    /// What is signed.
    pub template: Template,
    /// Header with the unix-seconds timestamp, and its tolerance.
    pub timestamp: Option<(HeaderName, Duration)>,
    /// Header with the message id (required on requests when set).
    pub id_header: Option<HeaderName>,
}

/// A keyed HMAC state, cloned per request so the key is hashed once.
#[derive(Clone)]
enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl Keyed {
    fn tag(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + Clone>(m: &M, parts: &[&[u8]]) -> Vec<u8> {
            let mut m = m.clone();
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        }
        match self {
            Keyed::Sha256(m) => run(m, parts),
            Keyed::Sha512(m) => run(m, parts),
        }
    }
}

/// A compiled generic HMAC verifier. Its `Debug` never shows the keys.
#[derive(Clone)]
pub struct HmacVerifier {
    settings: HmacSettings,
    keys: Vec<Keyed>,
}

impl std::fmt::Debug for HmacVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacVerifier")
            .field("settings", &self.settings)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl HmacVerifier {
    /// A verifier accepting a signature by any of `secrets` (their bytes are the keys). The
    /// template may use `{timestamp}` / `{id}` only when the matching header is set.
    pub fn new(settings: HmacSettings, secrets: &[String]) -> Result<Self, String> {
        if secrets.is_empty() {
            return Err("needs at least one secret".into());
        }
        if settings.template.uses_timestamp() && settings.timestamp.is_none() {
            return Err("the template signs {timestamp} but no timestamp header is set".into());
        }
        if settings.template.uses_id() && settings.id_header.is_none() {
            return Err("the template signs {id} but no id header is set".into());
        }
        let keys = secrets
            .iter()
            .map(|s| match settings.algorithm {
                Algorithm::Sha256 => Hmac::new_from_slice(s.as_bytes()).map(Keyed::Sha256),
                Algorithm::Sha512 => Hmac::new_from_slice(s.as_bytes()).map(Keyed::Sha512),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        Ok(HmacVerifier { settings, keys })
    }

    /// Verifies a request; `Verified::id` is the id header's value when one is configured.
    pub fn verify(&self, req: &RequestView<'_>, now_unix: i64) -> Result<Verified, VerifyError> {
        let s = &self.settings;
        let raw_sig = header_text(req, &s.header)?;
        let ts = match &s.timestamp {
            Some((name, tolerance)) => {
                let ts = header_text(req, name)?;
                check_timestamp(ts, name, now_unix, tolerance.as_secs())?;
                ts
            }
            None => "",
        };
        let id = match &s.id_header {
            Some(name) => Some(header_text(req, name)?),
            None => None,
        };
        let sig = self.decode(raw_sig)?;
        let parts: Vec<&[u8]> = s
            .template
            .0
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.as_slice(),
                Part::Body => req.body,
                Part::Timestamp => ts.as_bytes(),
                Part::Id => id.unwrap_or_default().as_bytes(),
            })
            .collect();
        let mut ok = Choice::from(0);
        for key in &self.keys {
            ok |= key.tag(&parts).as_slice().ct_eq(&sig);
        }
        if bool::from(ok) {
            Ok(Verified {
                id: id.map(str::to_owned),
            })
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    fn decode(&self, raw: &str) -> Result<Vec<u8>, VerifyError> {
        let s = &self.settings;
        let name = &s.header;
        let encoded = raw.trim().strip_prefix(s.prefix.as_str()).ok_or_else(|| {
            VerifyError::Malformed(format!("{name} does not start with {:?}", s.prefix))
        })?;
        match s.encoding {
            Encoding::Hex => hex::decode(encoded)
                .map_err(|_| VerifyError::Malformed(format!("{name} is not valid hex"))),
            Encoding::Base64 => BASE64
                .decode(encoded)
                .map_err(|_| VerifyError::Malformed(format!("{name} is not valid base64"))),
        }
    }
}

#[cfg(test)]
mod tests;
