//! Generic HMAC: GitHub-style `sha256=<hex>`, base64 SHA-512, templates with timestamp and
//! id, rotation, tolerance, tampering and malformed headers.

use super::*;
use crate::webhook::tests::{headers, view};

const BODY: &[u8] = br#"{"shipment":"1Z999"}"#;
const NOW: i64 = 1_700_000_000;

fn settings(
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: &str,
    template: &str,
) -> HmacSettings {
    HmacSettings {
        header: HeaderName::from_static("x-signature"),
        algorithm,
        encoding,
        prefix: prefix.into(),
        template: Template::parse(template).expect("template"),
        timestamp: template.contains("{timestamp}").then(|| {
            (
                HeaderName::from_static("x-timestamp"),
                Duration::from_secs(300),
            )
        }),
        id_header: template
            .contains("{id}")
            .then(|| HeaderName::from_static("x-id")),
    }
}

fn sign(algorithm: Algorithm, encoding: Encoding, secret: &str, content: &[u8]) -> String {
    let tag = match algorithm {
        Algorithm::Sha256 => Keyed::Sha256(Hmac::new_from_slice(secret.as_bytes()).expect("key")),
        Algorithm::Sha512 => Keyed::Sha512(Hmac::new_from_slice(secret.as_bytes()).expect("key")),
    }
    .tag(&[content]);
    match encoding {
        Encoding::Hex => hex::encode(tag),
        Encoding::Base64 => BASE64.encode(tag),
    }
}

struct Case {
    name: &'static str,
    sig: String,
    ts: &'static str,
    id: &'static str,
    body: &'static [u8],
    want: &'static str,
}

fn run(s: HmacSettings, secrets: &[&str], cases: Vec<Case>) {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    let v = HmacVerifier::new(s, &secrets).expect("verifier");
    for c in cases {
        let h = headers(&[
            ("X-Signature", &c.sig),
            ("X-Timestamp", c.ts),
            ("X-Id", c.id),
        ]);
        let got = v.verify(&view(&h, c.body), NOW);
        assert_eq!(
            got.map_or_else(|e| e.reason(), |_| "ok"),
            c.want,
            "{}",
            c.name
        );
    }
}

fn case(name: &'static str, sig: String, body: &'static [u8], want: &'static str) -> Case {
    Case {
        name,
        sig,
        ts: "1700000000",
        id: "evt-1",
        body,
        want,
    }
}

#[test]
fn github_style_sha256_hex() {
    let good = format!(
        "sha256={}",
        sign(Algorithm::Sha256, Encoding::Hex, "s3cret", BODY)
    );
    run(
        settings(Algorithm::Sha256, Encoding::Hex, "sha256=", "{body}"),
        &["old-secret", "s3cret"],
        vec![
            case("good", good.clone(), BODY, "ok"),
            case(
                "upper-case hex",
                good.to_uppercase().replace("SHA256=", "sha256="),
                BODY,
                "ok",
            ),
            case("tampered body", good.clone(), b"{}", "bad_signature"),
            case("no prefix", good.replace("sha256=", ""), BODY, "malformed"),
            case("not hex", "sha256=zz".into(), BODY, "malformed"),
            case(
                "other key",
                format!(
                    "sha256={}",
                    sign(Algorithm::Sha256, Encoding::Hex, "nope", BODY)
                ),
                BODY,
                "bad_signature",
            ),
            case(
                "sha512 tag",
                format!(
                    "sha256={}",
                    sign(Algorithm::Sha512, Encoding::Hex, "s3cret", BODY)
                ),
                BODY,
                "bad_signature",
            ),
        ],
    );
}

#[test]
fn sha512_base64_with_timestamp_and_id() {
    let content = |ts: &str, id: &str| [ts.as_bytes(), b":", id.as_bytes(), b":", BODY].concat();
    let good = sign(
        Algorithm::Sha512,
        Encoding::Base64,
        "k",
        &content("1700000000", "evt-1"),
    );
    let at = |ts: &'static str, sig: &str, want| Case {
        ts,
        ..case("ts", sig.to_owned(), BODY, want)
    };
    let stale = sign(
        Algorithm::Sha512,
        Encoding::Base64,
        "k",
        &content("1699999699", "evt-1"),
    );
    run(
        settings(
            Algorithm::Sha512,
            Encoding::Base64,
            "",
            "{timestamp}:{id}:{body}",
        ),
        &["k"],
        vec![
            case("good", good.clone(), BODY, "ok"),
            Case {
                id: "evt-2",
                ..case("tampered id", good.clone(), BODY, "bad_signature")
            },
            at("1700000001", &good, "bad_signature"),
            at("1699999699", &stale, "stale_timestamp"),
            at("later", &good, "malformed"),
            case("not base64", "***".into(), BODY, "malformed"),
        ],
    );
}

#[test]
fn verified_id_and_missing_headers() {
    let s = settings(Algorithm::Sha256, Encoding::Hex, "", "{id}.{body}");
    let v = HmacVerifier::new(s, &["k".into()]).expect("verifier");
    let sig = sign(Algorithm::Sha256, Encoding::Hex, "k", b"evt-9.{}");
    let h = headers(&[("x-signature", &sig), ("x-id", "evt-9")]);
    assert_eq!(
        v.verify(&view(&h, b"{}"), NOW),
        Ok(Verified {
            id: Some("evt-9".into())
        })
    );
    let h = headers(&[("x-signature", &sig)]);
    assert_eq!(
        v.verify(&view(&h, b"{}"), NOW),
        Err(VerifyError::MissingHeader("x-id".into()))
    );
    let h = headers(&[("x-id", "evt-9")]);
    assert_eq!(
        v.verify(&view(&h, b"{}"), NOW),
        Err(VerifyError::MissingHeader("x-signature".into()))
    );
}

#[test]
fn templates() {
    for (t, ok) in [
        ("{body}", true),
        ("v0:{timestamp}:{body}", true),
        ("{id}.{timestamp}.{body}", true),
        ("{timestamp}", false),
        ("{bdy}", false),
        ("{body", false),
        ("body}", false),
        ("{body}{", false),
    ] {
        assert_eq!(Template::parse(t).is_ok(), ok, "{t}");
    }
    assert_eq!(
        Template::default(),
        Template::parse("{body}").expect("default")
    );
    let mut s = settings(Algorithm::Sha256, Encoding::Hex, "", "{body}");
    s.template = Template::parse("{timestamp}.{body}").expect("template");
    assert!(
        HmacVerifier::new(s.clone(), &["k".into()]).is_err(),
        "timestamp header needed"
    );
    s.template = Template::parse("{id}.{body}").expect("template");
    assert!(
        HmacVerifier::new(s.clone(), &["k".into()]).is_err(),
        "id header needed"
    );
    s.template = Template::default();
    assert!(
        HmacVerifier::new(s.clone(), &[]).is_err(),
        "a secret needed"
    );
    let v = HmacVerifier::new(s, &["hunter2".into()]).expect("verifier");
    assert!(!format!("{v:?}").contains("hunter2"));
}
