//! Partner webhook verification (SPEC §3 step 6), pure: a compiled [`Verifier`] looks at a
//! [`RequestView`] (headers, the raw body bytes, the verified client-certificate CN) and the
//! current unix time it is handed, and answers [`Verified`] or a [`VerifyError`] whose
//! [`VerifyError::reason`] labels `switchyard_webhook_verifications_total`. Signatures are
//! computed over the raw bytes and compared in constant time; timestamps are checked against
//! their tolerance before any signature is trusted. The schemes live in [`standard`]
//! (Standard Webhooks v1/v1a), [`generic`] (configurable HMAC), [`api_key`] and
//! [`client_cert`]; [`dedupe`] extracts the key a delivery is deduplicated on and [`body`]
//! checks content types and JSON. Nothing here reads a clock, a socket or a file.

pub mod api_key;
pub mod body;
pub mod client_cert;
pub mod dedupe;
pub mod generic;
pub mod spec;
pub mod standard;

pub use api_key::ApiKeys;
pub use body::{is_json, ContentTypes};
pub use client_cert::ClientCert;
pub use dedupe::DedupeKey;
pub use generic::{Algorithm, Encoding, HmacSettings, HmacVerifier, Template};
pub use standard::{PublicKey, StandardWebhooks, SymmetricKey};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, HeaderName};

/// What a verifier may look at: the request's headers, its raw body and the CN of the client
/// certificate the TLS layer (or a trusted proxy's forwarded certificate) verified.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Request headers (names are case-insensitive by construction).
    pub headers: &'a HeaderMap,
    /// The body exactly as received.
    pub body: &'a [u8],
    /// Subject CN of the verified client certificate, if there was one.
    pub client_cn: Option<&'a str>,
}

impl<'a> RequestView<'a> {
    /// The first value of header `name`, as raw bytes.
    pub fn header(&self, name: &HeaderName) -> Option<&'a [u8]> {
        self.headers.get(name).map(|v| v.as_bytes())
    }
}

/// A request that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The message id the scheme vouches for (`webhook-id`, or the HMAC's id header).
    pub id: Option<String>,
}

/// Why a request failed verification (→ 401). [`VerifyError::reason`] is the metric label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A header the scheme needs is absent.
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A header is present but unreadable (not a number, bad base64, wrong shape …).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The timestamp is further from now than the tolerance; `skew_secs` > 0: in the past.
    #[error("timestamp is {skew_secs}s away from now (tolerance {tolerance_secs}s)")]
    StaleTimestamp {
        /// `now - timestamp`.
        skew_secs: i64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
    /// No configured key matches the signature (or the API key is unknown).
    #[error("no configured key matches")]
    BadSignature,
    /// The partner authenticates by client certificate and none was verified.
    #[error("no verified client certificate")]
    NoClientCert,
    /// The verified client certificate belongs to someone else (its CN).
    #[error("client certificate CN {0:?} is not the partner's")]
    WrongClientCert(String),
}

impl VerifyError {
    /// The short machine reason: `missing_header`, `malformed`, `stale_timestamp`,
    /// `bad_signature`, `no_client_cert` or `wrong_client_cert`.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader(_) => "missing_header",
            VerifyError::Malformed(_) => "malformed",
            VerifyError::StaleTimestamp { .. } => "stale_timestamp",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::NoClientCert => "no_client_cert",
            VerifyError::WrongClientCert(_) => "wrong_client_cert",
        }
    }
}

/// A partner's compiled verification scheme.
#[derive(Debug, Clone)]
pub enum Verifier {
    /// Standard Webhooks v1 (HMAC-SHA256) and/or v1a (ed25519).
    StandardWebhooks(StandardWebhooks),
    /// A configurable HMAC over a templated content.
    Hmac(HmacVerifier),
    /// A static API key in a header.
    ApiKey(ApiKeys),
    /// A verified client certificate with this subject CN.
    ClientCert(ClientCert),
}

impl Verifier {
    /// Verifies `req` at `now_unix` (seconds since the epoch, injected by the caller).
    pub fn verify(&self, req: &RequestView<'_>, now_unix: i64) -> Result<Verified, VerifyError> {
        match self {
            Verifier::StandardWebhooks(v) => v.verify(req, now_unix),
            Verifier::Hmac(v) => v.verify(req, now_unix),
            Verifier::ApiKey(v) => v.verify(req),
            Verifier::ClientCert(v) => v.verify(req),
        }
    }

    /// The scheme's config name (`standard_webhooks`, `hmac`, `api_key`, `client_cert`).
    pub fn kind(&self) -> &'static str {
        match self {
            Verifier::StandardWebhooks(_) => "standard_webhooks",
            Verifier::Hmac(_) => "hmac",
            Verifier::ApiKey(_) => "api_key",
            Verifier::ClientCert(_) => "client_cert",
        }
    }
}

/// Standard base64, padding optional when decoding (partners differ; the bytes do not).
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Header `name` as visible ASCII text: missing → `MissingHeader`, other bytes → `Malformed`.
pub(crate) fn header_text<'a>(
    req: &RequestView<'a>,
    name: &HeaderName,
) -> Result<&'a str, VerifyError> {
    let v = req
        .headers
        .get(name)
        .ok_or_else(|| VerifyError::MissingHeader(name.as_str().to_owned()))?;
    v.to_str()
        .map_err(|_| VerifyError::Malformed(format!("{name} is not visible ASCII")))
}

/// Checks a unix-seconds timestamp (ASCII digits only) against `now ± tolerance_secs`; the
/// edges pass. Returns the parsed value.
pub(crate) fn check_timestamp(
    raw: &str,
    name: &HeaderName,
    now: i64,
    tolerance_secs: u64,
) -> Result<i64, VerifyError> {
    let ts: i64 = match raw.len() {
        1..=18 if raw.bytes().all(|b| b.is_ascii_digit()) => raw.parse().unwrap_or(i64::MAX),
        _ => {
            return Err(VerifyError::Malformed(format!(
                "{name} is not a unix time in seconds"
            )))
        }
    };
    if now.abs_diff(ts) > tolerance_secs {
        return Err(VerifyError::StaleTimestamp {
            skew_secs: now.saturating_sub(ts),
            tolerance_secs,
        });
    }
    Ok(ts)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod partners_config_tests;
