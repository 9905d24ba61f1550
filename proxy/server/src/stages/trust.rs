//! Stage 2 (trust): remove what this peer may not claim, then set switchyard's own
//! canonical forwarded headers. Hop-by-hop fields and those named in `Connection` never pass;
//! the forwarded family and `X-Request-Id` pass only from `server.trusted_proxies`; tenant,
//! database and routing overrides and URL rewrites pass from nobody.

use crate::ctx::ConnInfo;
use http::header::{HeaderName, HeaderValue, CONNECTION, UPGRADE};
use http::HeaderMap;
use switchyard_core::hygiene::{classify, Strip};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The request id to use: a trusted proxy's, if well-formed, else a new one.
pub fn request_id(headers: &HeaderMap, trusted: bool) -> HeaderValue {
    if trusted {
        if let Some(v) = headers.get(&X_REQUEST_ID) {
            let b = v.as_bytes();
            if !b.is_empty() && b.len() <= 128 && b.iter().all(u8::is_ascii_graphic) {
                return v.clone();
            }
        }
    }
    HeaderValue::try_from(crate::ctx::new_request_id())
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// True when the request asks for a protocol upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers.get_all(CONNECTION).iter().any(|v| {
            v.to_str().is_ok_and(|s| {
                s.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
        })
}

/// Strips then sets. `upgrade` keeps `Upgrade`/`Connection: upgrade` for the upstream.
pub fn apply(
    headers: &mut HeaderMap,
    conn: &ConnInfo,
    host: &HeaderValue,
    request_id: &HeaderValue,
    upgrade: bool,
) {
    let mut doomed: Vec<HeaderName> = Vec::new();
    for v in headers.get_all(CONNECTION) {
        for token in v.to_str().unwrap_or("").split(',') {
            if let Ok(n) = HeaderName::from_bytes(token.trim().as_bytes()) {
                doomed.push(n);
            }
        }
    }
    for name in headers.keys() {
        if classify(name.as_str(), conn.trusted) != Strip::Keep {
            doomed.push(name.clone());
        }
    }
    let upgrade_to = if upgrade {
        headers.get(UPGRADE).cloned()
    } else {
        None
    };
    for n in doomed {
        headers.remove(&n);
    }
    // The client's `Expect: 100-continue` was answered here (hyper sends the 100 when the body
    // is first read); an upstream that answered it early could read the body as a request.
    headers.remove(http::header::EXPECT);
    if let Some(proto) = upgrade_to {
        headers.insert(UPGRADE, proto);
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
    let xff = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if conn.trusted => {
            HeaderValue::from_str(&format!("{prev}, {}", conn.peer.ip())).ok()
        }
        _ => None,
    };
    headers.insert(
        X_FORWARDED_FOR.clone(),
        xff.unwrap_or_else(|| conn.peer_ip.clone()),
    );
    headers.insert(X_FORWARDED_HOST.clone(), host.clone());
    if !(conn.trusted && headers.contains_key(&X_FORWARDED_PROTO)) {
        headers.insert(
            X_FORWARDED_PROTO.clone(),
            HeaderValue::from_static(if conn.tls { "https" } else { "http" }),
        );
    }
    headers.insert(X_REQUEST_ID.clone(), request_id.clone());
    let tp = traceparent(headers.get(&TRACEPARENT).and_then(|v| v.to_str().ok()));
    if let Ok(v) = HeaderValue::try_from(tp) {
        headers.insert(TRACEPARENT.clone(), v);
    }
}

/// W3C trace context: keep a valid incoming trace id (and flags) with a new parent id.
pub fn traceparent(incoming: Option<&str>) -> String {
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let kept = incoming.and_then(|tp| {
        let mut p = tp.split('-');
        let (v, trace, parent, flags) = (p.next()?, p.next()?, p.next()?, p.next()?);
        let ok = p.next().is_none()
            && v == "00"
            && hex(trace, 32)
            && trace.bytes().any(|b| b != b'0')
            && hex(parent, 16)
            && hex(flags, 2);
        ok.then_some((trace, flags))
    });
    match kept {
        Some((trace, _)) => out.push_str(trace),
        None => crate::ctx::push_hex(&mut out, fastrand::u128(1..), 32),
    }
    out.push('-');
    crate::ctx::push_hex(&mut out, u128::from(fastrand::u64(1..)), 16);
    out.push('-');
    out.push_str(kept.map_or("01", |(_, flags)| flags));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_keeps_a_valid_trace() {
        let t = traceparent(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        assert!(
            t.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && t.ends_with("-01"),
            "{t}"
        );
        assert!(!t.contains("00f067aa0ba902b7"));
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            let t = traceparent(Some(bad));
            assert_eq!(t.len(), 55, "{t}");
            assert!(!t.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
        }
    }
}
