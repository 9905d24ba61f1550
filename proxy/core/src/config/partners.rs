//! `partners:` — the integration partners whose webhooks switchyard governs (SPEC §3 step 6):
//! which requests are theirs (host and canonical-path prefix; the longest prefix wins), how
//! they are verified ([`crate::webhook::Verifier`]: Standard Webhooks, generic HMAC, API key
//! or client certificate, exactly one), their rate limit and what happens above it, how
//! deliveries are deduplicated, which bodies are accepted, and whether a broken shared
//! limiter fails open or closed. The `verify:` block (schemes, secrets through the injected
//! [`Env`]) is compiled by [`crate::webhook::spec`]; everything is reported at its path.

use super::admission::{rate, RateSpec};
use super::routes::{host_match, HostMatch};
use super::server::{duration, size};
use super::{Env, Errors};
use crate::gcra::Limit;
use crate::webhook::{ContentTypes, DedupeKey, Verifier};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::webhook::spec::VerifySpec;

/// One partner as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Which requests are this partner's.
    #[serde(rename = "match")]
    pub matcher: PartnerMatchSpec,
    /// How its requests are verified.
    pub verify: VerifySpec,
    /// Rate limit (default none).
    pub rate: Option<RateSpec>,
    /// Above the rate: `queue` (202 + durable spool + paced delivery) or `reject` (429, default).
    #[serde(default)]
    pub on_limit: OnLimit,
    /// Deduplication (default none).
    pub dedupe: Option<DedupeSpec>,
    /// Body limits.
    #[serde(default)]
    pub body: BodySpec,
    /// Shared limiter unreachable: `open` (local share of the limit, default) or `closed` (503).
    #[serde(default)]
    pub fail_mode: FailMode,
    /// Require a well-formed JSON body (default: true when `body.content_types` lists only JSON).
    pub json: Option<bool>,
}

/// `partners.<name>.match` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerMatchSpec {
    /// Prefix of the canonical path, e.g. `/hooks/dhl/`.
    pub path_prefix: String,
    /// Exact host or `*.suffix` (default any).
    pub host: Option<String>,
}

/// `dedupe:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeSpec {
    /// `header:<name>` or `body`.
    pub key: String,
    /// How long a delivery is remembered (default 24h).
    pub ttl: Option<String>,
}

/// `body:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodySpec {
    /// Largest body (default 1MiB; 413 beyond).
    pub max: Option<String>,
    /// Accepted media types (default any; 415 otherwise).
    #[serde(default)]
    pub content_types: Vec<String>,
}

/// What happens to a delivery above the partner's rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnLimit {
    /// 202 after the durable spool took it; delivered at the partner's pace.
    Queue,
    /// 429 with rate-limit headers.
    #[default]
    Reject,
}

/// What the rate limit does when the shared limiter (redis) is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Limit locally with this replica's share of the rate.
    #[default]
    Open,
    /// Refuse (503).
    Closed,
}

/// A compiled dedupe setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dedupe {
    /// What deliveries are told apart by.
    pub key: DedupeKey,
    /// How long one is remembered.
    pub ttl: Duration,
}

/// A compiled partner.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Name (metric label, spool key).
    pub name: String,
    /// Canonical path prefix.
    pub path_prefix: String,
    /// Host match (`Any` when not configured).
    pub host: HostMatch,
    /// Verification scheme.
    pub verifier: Verifier,
    /// Rate limit.
    pub rate: Option<Limit>,
    /// Above the rate.
    pub on_limit: OnLimit,
    /// Deduplication.
    pub dedupe: Option<Dedupe>,
    /// Largest body in bytes.
    pub body_max: u64,
    /// Accepted content types.
    pub content_types: ContentTypes,
    /// Shared limiter unreachable.
    pub fail_mode: FailMode,
    /// Body must be well-formed JSON.
    pub require_json: bool,
}

/// The partner whose match takes a request: the longest matching path prefix, then the more
/// specific host (exact, then the longer suffix, then any), then config (name) order.
pub fn match_partner(partners: &[Partner], host: &str, canonical_path: &str) -> Option<usize> {
    let rank = |h: &HostMatch| match h {
        HostMatch::Exact(_) => (2, 0),
        HostMatch::Suffix(s) => (1, s.len()),
        HostMatch::Any => (0, 0),
    };
    partners
        .iter()
        .enumerate()
        .filter(|(_, p)| p.host.matches(host) && canonical_path.starts_with(p.path_prefix.as_str()))
        .max_by_key(|(i, p)| (p.path_prefix.len(), rank(&p.host), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// Compiles `partners:` (in name order), collecting every problem.
pub fn compile(
    spec: &BTreeMap<String, PartnerSpec>,
    env: &dyn Env,
    errs: &mut Errors,
) -> Vec<Partner> {
    let mut out: Vec<Partner> = Vec::new();
    for (name, p) in spec {
        let partner = partner(name, p, &out, env, errs);
        out.extend(partner);
    }
    out
}

fn partner(
    name: &str,
    p: &PartnerSpec,
    earlier: &[Partner],
    env: &dyn Env,
    errs: &mut Errors,
) -> Option<Partner> {
    let path = format!("partners.{name}");
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errs.at(
            &path,
            format!("invalid partner name {name:?} (letters, digits, - and _)"),
        );
    }
    let host = matcher(&p.matcher, &path, earlier, errs);
    let verifier = crate::webhook::spec::compile(&p.verify, &format!("{path}.verify"), env, errs);
    let (body_max, content_types) = body(&p.body, &path, errs);
    let rate = p
        .rate
        .as_ref()
        .and_then(|r| rate(r, &format!("{path}.rate"), errs));
    let dedupe = p
        .dedupe
        .as_ref()
        .and_then(|d| dedupe(d, &format!("{path}.dedupe"), errs));
    Some(Partner {
        name: name.to_owned(),
        path_prefix: p.matcher.path_prefix.clone(),
        host,
        verifier: verifier?,
        rate,
        on_limit: p.on_limit,
        dedupe,
        body_max,
        require_json: p.json.unwrap_or_else(|| content_types.all_json()),
        content_types,
        fail_mode: p.fail_mode,
    })
}

/// Checks `match:` (canonical prefix, valid host, not the same as an earlier partner's).
fn matcher(m: &PartnerMatchSpec, path: &str, earlier: &[Partner], errs: &mut Errors) -> HostMatch {
    let host = host_match(m.host.as_deref(), &format!("{path}.match.host"), errs);
    let prefix = &m.path_prefix;
    if !crate::path::canonicalize(prefix).is_ok_and(|c| c == *prefix) {
        errs.at(
            format!("{path}.match.path_prefix"),
            format!(
                "{prefix:?} is not a canonical path (starts with '/', no dot-segments, no '//')"
            ),
        );
    }
    if let Some(o) = earlier
        .iter()
        .find(|o| o.path_prefix == *prefix && o.host == host)
    {
        errs.at(
            format!("{path}.match"),
            format!("same match as partner {:?}", o.name),
        );
    }
    host
}

fn body(b: &BodySpec, path: &str, errs: &mut Errors) -> (u64, ContentTypes) {
    let max = size(&b.max, 1 << 20, &format!("{path}.body.max"), errs);
    if max == 0 {
        errs.at(format!("{path}.body.max"), "must be at least 1 byte");
    }
    let types = ContentTypes::parse(&b.content_types).unwrap_or_else(|(i, m)| {
        errs.at(format!("{path}.body.content_types[{i}]"), m);
        ContentTypes::any()
    });
    (max, types)
}

fn dedupe(d: &DedupeSpec, path: &str, errs: &mut Errors) -> Option<Dedupe> {
    let key = DedupeKey::parse(&d.key)
        .map_err(|m| errs.at(format!("{path}.key"), m))
        .ok();
    let ttl = duration(
        &d.ttl,
        Duration::from_secs(86_400),
        &format!("{path}.ttl"),
        errs,
    );
    if ttl < Duration::from_secs(1) {
        errs.at(format!("{path}.ttl"), "must be at least 1s");
    }
    Some(Dedupe { key: key?, ttl })
}
