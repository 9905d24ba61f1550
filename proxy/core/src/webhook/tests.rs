//! The verifier enum, reasons, API keys, client certificates, dedupe keys and body checks;
//! also the request helpers the scheme tests share.

use super::*;
use http::HeaderValue;

/// A header map from `(name, value)` pairs (names in any case).
pub(super) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (n, v) in pairs {
        let name = HeaderName::from_bytes(n.as_bytes()).expect("test header name");
        h.append(name, HeaderValue::from_str(v).expect("test header value"));
    }
    h
}

/// A request view without client certificate.
pub(super) fn view<'a>(h: &'a HeaderMap, body: &'a [u8]) -> RequestView<'a> {
    RequestView {
        headers: h,
        body,
        client_cn: None,
    }
}

#[test]
fn reasons_are_the_metric_labels() {
    let all = [
        (VerifyError::MissingHeader("x".into()), "missing_header"),
        (VerifyError::Malformed("x".into()), "malformed"),
        (
            VerifyError::StaleTimestamp {
                skew_secs: 301,
                tolerance_secs: 300,
            },
            "stale_timestamp",
        ),
        (VerifyError::BadSignature, "bad_signature"),
        (VerifyError::NoClientCert, "no_client_cert"),
        (
            VerifyError::WrongClientCert("x".into()),
            "wrong_client_cert",
        ),
    ];
    for (e, reason) in all {
        assert_eq!(e.reason(), reason, "{e}");
    }
}

#[test]
fn timestamps() {
    let name = HeaderName::from_static("t");
    for (raw, now, want) in [
        ("1000", 1300, Ok(1000)),
        ("1000", 700, Ok(1000)),
        ("1000", 1301, Err("stale_timestamp")),
        ("1000", 699, Err("stale_timestamp")),
        ("0", i64::MAX, Err("stale_timestamp")),
        ("", 1000, Err("malformed")),
        ("+1000", 1000, Err("malformed")),
        (" 1000", 1000, Err("malformed")),
        ("1000000000000000000", 1000, Err("malformed")),
    ] {
        let got = check_timestamp(raw, &name, now, 300).map_err(|e| e.reason());
        assert_eq!(got, want, "{raw} at {now}");
    }
}

#[test]
fn api_keys() {
    let keys = ["first-key-0001".to_owned(), "second-key-0002".to_owned()];
    let header = HeaderName::from_static("authorization");
    let v = Verifier::ApiKey(ApiKeys::new(header, "Bearer ".into(), &keys).expect("keys"));
    for (value, want) in [
        (Some("Bearer first-key-0001"), "ok"),
        (Some("Bearer second-key-0002"), "ok"),
        (Some("Bearer second-key-000"), "bad_signature"),
        (Some("Bearer second-key-00022"), "bad_signature"),
        (Some("Bearer "), "bad_signature"),
        (Some("second-key-0002"), "malformed"),
        (None, "missing_header"),
    ] {
        let h = headers(
            &value
                .map(|v| vec![("Authorization", v)])
                .unwrap_or_default(),
        );
        let got = v
            .verify(&view(&h, b""), 0)
            .map_or_else(|e| e.reason(), |_| "ok");
        assert_eq!(got, want, "{value:?}");
    }
    assert!(!format!("{v:?}").contains("first-key"));
    assert_eq!(v.kind(), "api_key");
}

#[test]
fn client_certs() {
    let v = Verifier::ClientCert(ClientCert {
        subject_cn: "edi-gw.partner.example".into(),
    });
    let h = HeaderMap::new();
    for (cn, want) in [
        (Some("edi-gw.partner.example"), Ok(Verified { id: None })),
        (Some("EDI-GW.Partner.Example"), Ok(Verified { id: None })),
        (
            Some("evil.partner.example"),
            Err(VerifyError::WrongClientCert("evil.partner.example".into())),
        ),
        (None, Err(VerifyError::NoClientCert)),
    ] {
        let req = RequestView {
            headers: &h,
            body: b"",
            client_cn: cn,
        };
        assert_eq!(v.verify(&req, 0), want, "{cn:?}");
    }
}

#[test]
fn dedupe_keys() {
    let body = b"hello";
    let body_key = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let long = "x".repeat(201);
    let h = headers(&[
        ("Message-ID", "<abc@edi>"),
        ("Idempotency-Key", ""),
        ("X-Long", &long),
    ]);
    let req = view(&h, body);
    for (spec, want) in [
        ("header:Message-ID", "id:<abc@edi>"),
        ("header:message-id", "id:<abc@edi>"),
        ("header:webhook-id", body_key),
        ("header:Idempotency-Key", body_key),
        ("body", body_key),
    ] {
        let key = DedupeKey::parse(spec).expect(spec);
        assert_eq!(key.extract(&req), want, "{spec}");
    }
    let hashed = DedupeKey::parse("header:x-long")
        .expect("key")
        .extract(&req);
    assert!(
        hashed.starts_with("id-sha256:") && hashed.len() == 10 + 64,
        "{hashed}"
    );
    for bad in ["", "header:", "header:bad name", "webhook-id", "Body"] {
        assert!(DedupeKey::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn content_types() {
    let list =
        |l: &[&str]| ContentTypes::parse(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let json = list(&["application/json"]).expect("list");
    let edi = list(&["Application/EDI-X12", "application/edifact", "text/*"]).expect("list");
    for (ct, j, e) in [
        (Some("application/json"), true, false),
        (Some("application/json; charset=utf-8"), true, false),
        (Some("APPLICATION/JSON ;charset=utf-8"), true, false),
        (Some("application/jsonx"), false, false),
        (Some("application/edi-x12"), false, true),
        (Some("text/plain; charset=us-ascii"), false, true),
        (Some("application/json/x"), false, false),
        (Some("garbage"), false, false),
        (None, false, false),
    ] {
        let v = ct.map(str::as_bytes);
        assert_eq!((json.allows(v), edi.allows(v)), (j, e), "{ct:?}");
    }
    assert!(ContentTypes::any().allows(None) && ContentTypes::any().is_any());
    assert!(list(&["*/*"]).expect("any").allows(Some(b"x/y")));
    assert!(json.all_json() && list(&["application/vnd.api+json"]).expect("l").all_json());
    assert!(!edi.all_json() && !ContentTypes::any().all_json());
    for bad in [
        "json",
        "application/json; charset=utf-8",
        "*/json",
        "a b/c",
        "",
    ] {
        assert_eq!(list(&["text/csv", bad]).map_err(|e| e.0), Err(1), "{bad:?}");
    }
}

#[test]
fn json_bodies() {
    for (body, ok) in [
        (&b"{\"a\": [1, 2.5, null]}"[..], true),
        (b" [] ", true),
        (b"\"s\"", true),
        (b"", false),
        (b"{", false),
        (b"{} {}", false),
        (b"ISA*00*", false),
    ] {
        assert_eq!(is_json(body), ok, "{:?}", String::from_utf8_lossy(body));
    }
    // Skipping is iterative: deep nesting is valid JSON and cannot overflow the stack.
    let deep = "[".repeat(1_000_000) + &"]".repeat(1_000_000);
    assert!(is_json(deep.as_bytes()));
    assert!(!is_json(&deep.as_bytes()[1..]));
}

#[test]
fn header_lookup_is_case_insensitive_and_first_value() {
    let h = headers(&[("X-Key", "one"), ("x-key", "two")]);
    let req = view(&h, b"");
    assert_eq!(
        req.header(&HeaderName::from_static("x-key")),
        Some(&b"one"[..])
    );
}
