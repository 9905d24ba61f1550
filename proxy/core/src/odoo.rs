//! The Odoo guard's pure decisions (SPEC §3 step 4): whether a request reaches Odoo's
//! database manager (by path, or by `/jsonrpc` with `"service": "db"`), and whether it names a
//! database other than its tenant's (a `db` query or form parameter, a `session_id` whose
//! `.dbname` suffix points elsewhere). Every check reads the request the way Odoo (werkzeug)
//! would — percent-decoded, every occurrence of a repeated parameter or cookie, JSON keys after
//! unescaping — and refuses what it cannot read unambiguously, so the proxy and Odoo never
//! disagree about what was asked.

use crate::path::hex;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The request header Odoo reads a session id from (besides the cookie and the query).
pub const SESSION_HEADER: &str = "X-Openerp-Session-Id";

/// The request header the proxy sets to the tenant's exact database (Odoo's `dbfilter_from_header`).
pub const DBFILTER_HEADER: &str = "X-Odoo-dbfilter";

/// True when a path reaches Odoo's database manager: `/web/database` and everything below
/// it, `/xmlrpc/db` and `/xmlrpc/2/db` (and below).
///
/// Robust on purpose: segments are compared case-insensitively after percent-decoding (up to
/// three rounds, for stacked decoders), with `;params` cut from each segment, empty segments
/// and trailing slashes ignored, `\` taken as `/` and dot-segments resolved. Lookalikes such
/// as `/web/databases` or `/web/dataset/call_kw` are not the manager.
pub fn is_db_manager_path(canonical_path: &str) -> bool {
    let mut bytes: Cow<'_, [u8]> = Cow::Borrowed(canonical_path.as_bytes());
    for _ in 0..3 {
        let decoded = match percent_decode(&bytes, false) {
            Cow::Owned(v) => v,
            Cow::Borrowed(_) => break,
        };
        bytes = Cow::Owned(decoded);
    }
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in bytes.split(|&b| b == b'/' || b == b'\\') {
        let seg = seg.split(|&b| b == b';').next().unwrap_or_default();
        match seg {
            b"" | b"." => {}
            b".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let is = |i: usize, name: &str| {
        segs.get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case(name.as_bytes()))
    };
    (is(0, "web") && is(1, "database"))
        || (is(0, "xmlrpc") && (is(1, "db") || (is(1, "2") && is(2, "db"))))
}

/// Why a `/jsonrpc` body could not be read unambiguously; each is a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonRpcError {
    /// The body is larger than the inspection limit.
    #[error("the JSON-RPC body is larger than the proxy inspects")]
    TooLarge,
    /// Not one JSON object, or `params` / `params.service` of an unexpected type.
    #[error("the JSON-RPC body is not a JSON-RPC call the proxy can read")]
    Invalid,
    /// Some object, at any depth, repeats a key (after unescaping).
    #[error("the JSON-RPC body repeats a key")]
    DuplicateKey,
}

/// The `params.service` of an Odoo `/jsonrpc` body, e.g. `Some("db")` for
/// `{"jsonrpc":"2.0","method":"call","params":{"service":"db","method":"list","args":[]}}`.
///
/// `Ok(None)` when there is no `params` or no `service` (Odoo fails such a call). Refused:
/// bodies over `max_bytes` ([`JsonRpcError::TooLarge`]); anything but exactly one JSON object,
/// a `params` that is not an object (Python's `dict()` would accept a list of pairs) or a
/// `service` that is not a string ([`JsonRpcError::Invalid`]); a key repeated in any object
/// ([`JsonRpcError::DuplicateKey`], since Python keeps the last and a reader could keep the
/// first). Compare the result with [`is_db_service`].
pub fn jsonrpc_service(body: &[u8], max_bytes: usize) -> Result<Option<String>, JsonRpcError> {
    if body.len() > max_bytes {
        return Err(JsonRpcError::TooLarge);
    }
    let dup = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = Strict(&dup)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    let value = match parsed {
        Ok(v) => v,
        Err(_) if dup.get() => return Err(JsonRpcError::DuplicateKey),
        Err(_) => return Err(JsonRpcError::Invalid),
    };
    let Value::Object(top) = value else {
        return Err(JsonRpcError::Invalid);
    };
    match top.get("params") {
        None => Ok(None),
        Some(Value::Object(params)) => match params.get("service") {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JsonRpcError::Invalid),
        },
        Some(_) => Err(JsonRpcError::Invalid),
    }
}

/// True when a JSON-RPC service names the database service (`db`, any case, spaces around
/// ignored — stricter than Odoo, which wants exactly `db`).
pub fn is_db_service(service: &str) -> bool {
    service.trim().eq_ignore_ascii_case("db")
}

/// Builds a JSON value like `serde_json::Value`, but fails (and raises its flag) on the first
/// repeated key of any object.
#[derive(Clone, Copy)]
struct Strict<'a>(&'a Cell<bool>);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                self.0.set(true);
                return Err(de::Error::custom("duplicate key"));
            }
            let v = map.next_value_seed(self)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The database an Odoo session id names: the part after the first `.` (`abc123.acme_prod` →
/// `acme_prod`; session tokens themselves never contain a dot). `None` without a dot; an empty
/// suffix (`abc.`) is `Some("")`, which names no tenant's database.
pub fn session_db(session_id: &str) -> Option<&str> {
    session_id.split_once('.').map(|(_, db)| db)
}

/// Every value of the query (or `application/x-www-form-urlencoded` body) parameter `name`,
/// in order, as werkzeug reads them: pairs split at `&` (and `;`, which older parsers also
/// split at), names and values percent-decoded with `+` as space, invalid UTF-8 replaced by
/// U+FFFD, a pair without `=` an empty value. Borrows when nothing needs decoding.
pub fn query_param<'a, 'n>(
    query: &'a str,
    name: &'n str,
) -> impl Iterator<Item = Cow<'a, str>> + use<'a, 'n> {
    query.split(['&', ';']).filter_map(move |pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == name).then(|| form_decode(v))
    })
}

/// Every value of the cookie `name` across all `Cookie` header values, in order: pairs split
/// at `;`, name and value trimmed, one pair of surrounding double quotes removed. Names are
/// case-sensitive, as in werkzeug; a pair without `=` has no name and is skipped.
pub fn cookie<'a, 's, 'n>(
    cookie_header_values: &'s [&'a str],
    name: &'n str,
) -> impl Iterator<Item = &'a str> + use<'a, 's, 'n> {
    cookie_header_values
        .iter()
        .flat_map(|h| h.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.split_once('=')?;
            (k.trim() == name).then(|| unquote(v.trim()))
        })
}

/// Where a request named a database other than its tenant's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbViolation {
    /// A `db` query parameter (decoded value).
    #[error("the query parameter db names database {0:?}")]
    QueryParam(String),
    /// A `db` form field of an urlencoded body (decoded value).
    #[error("the form field db names database {0:?}")]
    FormParam(String),
    /// A `session_id` cookie; holds the database suffix only, never the secret token.
    #[error("the session_id cookie names database {0:?}")]
    SessionCookie(String),
    /// The `X-Openerp-Session-Id` header; holds the database suffix only.
    #[error("the X-Openerp-Session-Id header names database {0:?}")]
    SessionHeader(String),
    /// A `session_id` query parameter; holds the database suffix only.
    #[error("the session_id query parameter names database {0:?}")]
    SessionQuery(String),
}

/// Pins a request to `expected_db`: refuses any `db` query parameter or urlencoded form field
/// that is not exactly `expected_db` (an empty `db` included), and any `session_id` (query,
/// [`SESSION_HEADER`], cookie) whose `.dbname` suffix is not exactly `expected_db`. A session
/// id holding `\` or `"` (escapes a cookie parser could turn into a dot) is refused too. A
/// session id without suffix passes. Checks in that order and reports the first violation.
///
/// `form_body` is for `application/x-www-form-urlencoded` bodies only; multipart is the
/// caller's to refuse or inspect.
pub fn database_pin(
    expected_db: &str,
    query: Option<&str>,
    cookies: &[&str],
    session_header: Option<&str>,
    form_body: Option<&[u8]>,
) -> Result<(), DbViolation> {
    if let Some(q) = query {
        if let Some(db) = foreign_db(q, expected_db) {
            return Err(DbViolation::QueryParam(db));
        }
        for sid in query_param(q, "session_id") {
            session_pin(expected_db, &sid).map_err(DbViolation::SessionQuery)?;
        }
    }
    if let Some(sid) = session_header {
        session_pin(expected_db, sid).map_err(DbViolation::SessionHeader)?;
    }
    for sid in cookie(cookies, "session_id") {
        session_pin(expected_db, sid).map_err(DbViolation::SessionCookie)?;
    }
    if let Some(body) = form_body {
        if let Some(db) = foreign_db(&String::from_utf8_lossy(body), expected_db) {
            return Err(DbViolation::FormParam(db));
        }
    }
    Ok(())
}

/// The first `db` parameter of an urlencoded string that is not exactly `expected_db`.
fn foreign_db(params: &str, expected_db: &str) -> Option<String> {
    query_param(params, "db")
        .find(|db| db != expected_db)
        .map(Cow::into_owned)
}

/// `Err(suffix)` when a session id names another database (or can't be read plainly).
fn session_pin(expected_db: &str, session_id: &str) -> Result<(), String> {
    let db = session_db(session_id);
    if session_id.contains(['\\', '"']) || db.is_some_and(|db| db != expected_db) {
        return Err(db.unwrap_or_default().to_owned());
    }
    Ok(())
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
}

/// Decodes `%XX` (broken escapes stay literal, as in werkzeug) and, for forms, `+` as space.
fn percent_decode(s: &[u8], plus_as_space: bool) -> Cow<'_, [u8]> {
    let plus = plus_as_space && s.contains(&b'+');
    if !plus && !s.contains(&b'%') {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let escape = (s[i] == b'%')
            .then(|| Some(hex(*s.get(i + 1)?)? * 16 + hex(*s.get(i + 2)?)?))
            .flatten();
        match (escape, s[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') if plus_as_space => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(out)
}

fn form_decode(s: &str) -> Cow<'_, str> {
    match percent_decode(s.as_bytes(), true) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(v) => Cow::Owned(
            String::from_utf8(v)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

#[cfg(test)]
mod tests;
