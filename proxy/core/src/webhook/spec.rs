//! The `verify:` block of a partner (`partners.<name>.verify`) as written, and its compilation
//! into a [`Verifier`]: exactly one scheme; secrets resolved through the injected
//! [`Env`] (`{ env }` / `{ file }`, never inline) and their format checked (`whsec_…`,
//! `whpk_…`, API keys of at least 16 characters), every problem reported at its config path.
//! The rest of the `partners:` section lives in [`crate::config::partners`].

use super::{
    Algorithm, ApiKeys, ClientCert, Encoding, HmacSettings, HmacVerifier, PublicKey,
    StandardWebhooks, SymmetricKey, Template, Verifier,
};
use crate::config::secrets::{resolve, SecretSpec};
use crate::config::{Env, Errors};
use http::HeaderName;
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// `verify:` as written: exactly one scheme.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// Standard Webhooks v1 / v1a.
    pub standard_webhooks: Option<StandardWebhooksSpec>,
    /// A configurable HMAC.
    pub hmac: Option<HmacSpec>,
    /// Static API keys.
    pub api_key: Option<ApiKeySpec>,
    /// A verified client certificate.
    pub client_cert: Option<ClientCertSpec>,
}

/// `standard_webhooks:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardWebhooksSpec {
    /// The `whsec_…` secret.
    pub secret: Option<SecretSpec>,
    /// Several `whsec_…` secrets (rotation: any passes); instead of `secret`.
    pub secrets: Option<Vec<SecretSpec>>,
    /// A `whpk_…` ed25519 public key for `v1a` signatures (public, so written inline).
    pub public_key: Option<String>,
    /// Several public keys; instead of `public_key`.
    pub public_keys: Option<Vec<String>>,
    /// Largest distance of `webhook-timestamp` from now (default 5m).
    pub tolerance: Option<String>,
}

/// `hmac:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HmacSpec {
    /// Header carrying the signature.
    pub header: String,
    /// `sha256` (default) or `sha512`.
    pub algorithm: Option<Algorithm>,
    /// `hex` (default) or `base64`.
    pub encoding: Option<Encoding>,
    /// Text before the signature, e.g. `sha256=` (default none).
    pub prefix: Option<String>,
    /// The secret (its bytes are the key).
    pub secret: Option<SecretSpec>,
    /// Several secrets (rotation); instead of `secret`.
    pub secrets: Option<Vec<SecretSpec>>,
    /// Signed content: `{body}`, `{timestamp}`, `{id}` and literal text (default `{body}`).
    pub signed: Option<String>,
    /// Header with a unix-seconds timestamp, checked against a tolerance.
    pub timestamp: Option<TimestampSpec>,
    /// Header with the message id (`{id}`).
    pub id_header: Option<String>,
}

/// `hmac.timestamp:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimestampSpec {
    /// The header.
    pub header: String,
    /// Largest distance from now (default 5m).
    pub tolerance: Option<String>,
}

/// `api_key:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// Header carrying the key.
    pub header: String,
    /// Text before the key, e.g. `"Bearer "` (default none).
    pub prefix: Option<String>,
    /// Accepted keys (at least 16 characters each).
    pub keys: Vec<SecretSpec>,
}

/// `client_cert:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientCertSpec {
    /// The subject CN of the partner's verified certificate.
    pub subject_cn: String,
}

/// Compiles a `verify:` block found at config path `path`; `None` after recording errors.
pub fn compile(v: &VerifySpec, path: &str, env: &dyn Env, errs: &mut Errors) -> Option<Verifier> {
    let set = [
        v.standard_webhooks.is_some(),
        v.hmac.is_some(),
        v.api_key.is_some(),
        v.client_cert.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        errs.at(
            path,
            "exactly one of standard_webhooks, hmac, api_key, client_cert",
        );
        return None;
    }
    if let Some(s) = &v.standard_webhooks {
        return standard(s, &format!("{path}.standard_webhooks"), env, errs);
    }
    if let Some(h) = &v.hmac {
        return hmac(h, &format!("{path}.hmac"), env, errs);
    }
    if let Some(a) = &v.api_key {
        return api_key(a, &format!("{path}.api_key"), env, errs);
    }
    let cn = v
        .client_cert
        .as_ref()
        .map(|c| c.subject_cn.trim())
        .unwrap_or_default();
    if cn.is_empty() {
        errs.at(
            format!("{path}.client_cert.subject_cn"),
            "must not be empty",
        );
    }
    Some(Verifier::ClientCert(ClientCert {
        subject_cn: cn.to_owned(),
    }))
}

/// `secret` xor `secrets`, resolved, each with its config path.
fn secrets(
    one: &Option<SecretSpec>,
    many: &Option<Vec<SecretSpec>>,
    path: &str,
    env: &dyn Env,
    errs: &mut Errors,
) -> Vec<(String, String)> {
    let list: Vec<(String, &SecretSpec)> = match (one, many) {
        (Some(s), None) => vec![(format!("{path}.secret"), s)],
        (None, Some(v)) => v
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{path}.secrets[{i}]"), s))
            .collect(),
        (Some(_), Some(_)) => {
            errs.at(path, "use either secret or secrets, not both");
            return Vec::new();
        }
        (None, None) => return Vec::new(),
    };
    list.into_iter()
        .filter_map(|(p, s)| resolve(s, &p, env, errs).map(|v| (p, v)))
        .collect()
}

fn tolerance(raw: &Option<String>, path: &str, errs: &mut Errors) -> Duration {
    let parsed = raw.as_deref().map(crate::units::parse_duration);
    let t = parsed
        .unwrap_or(Ok(Duration::from_secs(300)))
        .unwrap_or_else(|m| {
            errs.at(path, m);
            Duration::from_secs(300)
        });
    if !(Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(&t) {
        errs.at(path, "must be between 1s and 24h");
    }
    t
}

fn standard(
    s: &StandardWebhooksSpec,
    path: &str,
    env: &dyn Env,
    errs: &mut Errors,
) -> Option<Verifier> {
    let before = errs.0.len();
    let keys: Vec<SymmetricKey> = secrets(&s.secret, &s.secrets, path, env, errs)
        .into_iter()
        .filter_map(|(p, v)| SymmetricKey::parse(&v).map_err(|m| errs.at(p, m)).ok())
        .collect();
    let written: Vec<(String, &String)> = match (&s.public_key, &s.public_keys) {
        (Some(k), None) => vec![(format!("{path}.public_key"), k)],
        (None, Some(v)) => v
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("{path}.public_keys[{i}]"), k))
            .collect(),
        (Some(_), Some(_)) => {
            errs.at(path, "use either public_key or public_keys, not both");
            Vec::new()
        }
        (None, None) => Vec::new(),
    };
    let public_keys: Vec<PublicKey> = written
        .into_iter()
        .filter_map(|(p, k)| PublicKey::parse(k).map_err(|m| errs.at(p, m)).ok())
        .collect();
    let tolerance = tolerance(&s.tolerance, &format!("{path}.tolerance"), errs);
    if errs.0.len() > before {
        return None;
    }
    StandardWebhooks::new(keys, public_keys, tolerance)
        .map_err(|m| errs.at(path, m))
        .ok()
        .map(Verifier::StandardWebhooks)
}

fn header(raw: &str, path: &str, errs: &mut Errors) -> Option<HeaderName> {
    HeaderName::try_from(raw)
        .map_err(|_| errs.at(path, format!("invalid header name {raw:?}")))
        .ok()
}

fn hmac(s: &HmacSpec, path: &str, env: &dyn Env, errs: &mut Errors) -> Option<Verifier> {
    let before = errs.0.len();
    let settings = hmac_settings(s, path, errs);
    let secrets: Vec<String> = secrets(&s.secret, &s.secrets, path, env, errs)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    if errs.0.len() == before && secrets.is_empty() {
        errs.at(path, "needs secret or secrets");
    }
    if errs.0.len() > before {
        return None;
    }
    HmacVerifier::new(settings?, &secrets)
        .map_err(|m| errs.at(path, m))
        .ok()
        .map(Verifier::Hmac)
}

/// Everything of `hmac:` but the secrets; `None` when something was wrong.
fn hmac_settings(s: &HmacSpec, path: &str, errs: &mut Errors) -> Option<HmacSettings> {
    let header_at =
        |raw: &str, field: &str, errs: &mut Errors| header(raw, &format!("{path}.{field}"), errs);
    let sig_header = header_at(&s.header, "header", errs);
    let timestamp = s.timestamp.as_ref().map(|t| {
        let h = header_at(&t.header, "timestamp.header", errs);
        (
            h,
            tolerance(&t.tolerance, &format!("{path}.timestamp.tolerance"), errs),
        )
    });
    let id_header = s
        .id_header
        .as_ref()
        .map(|h| header_at(h, "id_header", errs));
    let signed = format!("{path}.signed");
    let template = s
        .signed
        .as_deref()
        .map_or(Ok(Template::default()), Template::parse)
        .map_err(|m| errs.at(&signed, m))
        .ok()?;
    if template.uses_timestamp() && timestamp.is_none() {
        errs.at(&signed, "signs {timestamp} but hmac.timestamp is not set");
    }
    if template.uses_id() && id_header.is_none() {
        errs.at(&signed, "signs {id} but hmac.id_header is not set");
    }
    Some(HmacSettings {
        header: sig_header?,
        algorithm: s.algorithm.unwrap_or(Algorithm::Sha256),
        encoding: s.encoding.unwrap_or(Encoding::Hex),
        prefix: s.prefix.clone().unwrap_or_default(),
        template,
        timestamp: match timestamp {
            Some((h, t)) => Some((h?, t)),
            None => None,
        },
        id_header: match id_header {
            Some(h) => Some(h?),
            None => None,
        },
    })
}

fn api_key(a: &ApiKeySpec, path: &str, env: &dyn Env, errs: &mut Errors) -> Option<Verifier> {
    let before = errs.0.len();
    let name = header(&a.header, &format!("{path}.header"), errs);
    let mut keys = Vec::new();
    for (i, k) in a.keys.iter().enumerate() {
        let p = format!("{path}.keys[{i}]");
        match resolve(k, &p, env, errs) {
            Some(v) if v.chars().count() < 16 => errs.at(p, "keys must be at least 16 characters"),
            Some(v) => keys.push(v),
            None => {}
        }
    }
    if a.keys.is_empty() {
        errs.at(format!("{path}.keys"), "needs at least one key");
    }
    let name = name.filter(|_| errs.0.len() == before)?;
    ApiKeys::new(name, a.prefix.clone().unwrap_or_default(), &keys)
        .map_err(|m| errs.at(path, m))
        .ok()
        .map(Verifier::ApiKey)
}
