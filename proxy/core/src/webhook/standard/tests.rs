//! Standard Webhooks: the spec's reference vector, rotation, tolerance edges, tampering,
//! several signatures in one header, v1a (ed25519) and every malformed input.

use super::*;
use crate::webhook::tests::{headers, view};
use ed25519_dalek::{Signer, SigningKey};

const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const OTHER: &str = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB";

fn verifier(secrets: &[&str]) -> StandardWebhooks {
    let keys = secrets
        .iter()
        .map(|s| SymmetricKey::parse(s).expect("test secret"))
        .collect();
    StandardWebhooks::new(keys, vec![], Duration::from_secs(300)).expect("verifier")
}

fn check(
    v: &StandardWebhooks,
    id: &str,
    ts: &str,
    sig: &str,
    body: &[u8],
    now: i64,
) -> Result<Verified, VerifyError> {
    let h = headers(&[
        ("Webhook-Id", id),
        ("Webhook-Timestamp", ts),
        ("Webhook-Signature", sig),
    ]);
    v.verify(&view(&h, body), now)
}

fn reason(r: Result<Verified, VerifyError>) -> &'static str {
    r.map_or_else(|e| e.reason(), |_| "ok")
}

#[test]
fn the_reference_vector_passes() {
    let got = check(&verifier(&[SECRET]), ID, "1614265330", SIG, BODY, TS);
    assert_eq!(
        got,
        Ok(Verified {
            id: Some(ID.into())
        })
    );
}

/// One delivery against a verifier with `secrets`, checked at `now`.
struct Case {
    name: &'static str,
    secrets: &'static [&'static str],
    id: &'static str,
    ts: &'static str,
    sig: String,
    body: &'static [u8],
    now: i64,
    want: &'static str,
}

/// The reference delivery, verified with the reference secret at its own timestamp.
fn case(name: &'static str, want: &'static str) -> Case {
    Case {
        name,
        secrets: &[SECRET],
        id: ID,
        ts: "1614265330",
        sig: SIG.into(),
        body: BODY,
        now: TS,
        want,
    }
}

#[test]
fn table() {
    let bad = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let cases = [
        Case {
            secrets: &[OTHER, SECRET],
            ..case("rotation: second key", "ok")
        },
        Case {
            secrets: &[SECRET, OTHER],
            ..case("rotation: first key", "ok")
        },
        Case {
            secrets: &[OTHER],
            ..case("wrong key", "bad_signature")
        },
        Case {
            now: TS + 300,
            ..case("+300s passes", "ok")
        },
        Case {
            now: TS - 300,
            ..case("-300s passes", "ok")
        },
        Case {
            now: TS + 301,
            ..case("+301s is stale", "stale_timestamp")
        },
        Case {
            now: TS - 301,
            ..case("-301s is stale", "stale_timestamp")
        },
        Case {
            now: TS + 301,
            sig: bad.into(),
            ..case("stale first", "stale_timestamp")
        },
        Case {
            body: br#"{"test": 2432232315}"#,
            ..case("tampered body", "bad_signature")
        },
        Case {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJel",
            ..case("tampered id", "bad_signature")
        },
        Case {
            ts: "1614265331",
            ..case("tampered timestamp", "bad_signature")
        },
        Case {
            sig: format!("{bad} {SIG}"),
            ..case("bad then good", "ok")
        },
        Case {
            sig: format!("v2,xyz {SIG}"),
            ..case("unknown version", "ok")
        },
        Case {
            sig: format!("{bad} v1,AAAA"),
            ..case("none good", "bad_signature")
        },
        Case {
            sig: "v9,abc".into(),
            ..case("only unknown versions", "bad_signature")
        },
        Case {
            sig: "g0hM9SsE".into(),
            ..case("no version", "malformed")
        },
        Case {
            sig: "v1,!!!".into(),
            ..case("not base64", "malformed")
        },
        Case {
            sig: "".into(),
            ..case("empty signature", "malformed")
        },
        Case {
            sig: [SIG; 17].join(" "),
            ..case("too many entries", "malformed")
        },
        Case {
            ts: "soon",
            ..case("timestamp not a number", "malformed")
        },
        Case {
            ts: "-1614265330",
            ..case("timestamp negative", "malformed")
        },
        Case {
            ts: "1614265330.0",
            ..case("timestamp fractional", "malformed")
        },
        Case {
            ts: "99999999999999999999",
            ..case("timestamp huge", "malformed")
        },
        Case {
            id: "",
            ..case("id empty", "malformed")
        },
    ];
    for c in cases {
        let got = reason(check(
            &verifier(c.secrets),
            c.id,
            c.ts,
            &c.sig,
            c.body,
            c.now,
        ));
        assert_eq!(got, c.want, "{}", c.name);
    }
}

#[test]
fn missing_headers_are_named() {
    let v = verifier(&[SECRET]);
    let all = [
        ("webhook-id", ID),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", SIG),
    ];
    for skip in 0..all.len() {
        let pairs: Vec<_> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| *p)
            .collect();
        let h = headers(&pairs);
        let got = v.verify(&view(&h, BODY), TS);
        assert_eq!(got, Err(VerifyError::MissingHeader(all[skip].0.into())));
    }
}

fn signing_key() -> (SigningKey, String) {
    let sk = SigningKey::from_bytes(&[7u8; 32]);
    let pk = format!("whpk_{}", BASE64.encode(sk.verifying_key().as_bytes()));
    (sk, pk)
}

fn v1a(sk: &SigningKey, id: &str, ts: &str, body: &[u8]) -> String {
    let msg = [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat();
    format!("v1a,{}", BASE64.encode(sk.sign(&msg).to_bytes()))
}

#[test]
fn v1a_ed25519() {
    let (sk, pk) = signing_key();
    let (_, other_pk) = {
        let o = SigningKey::from_bytes(&[9u8; 32]);
        (
            o.clone(),
            format!("whpk_{}", BASE64.encode(o.verifying_key().as_bytes())),
        )
    };
    let ts = "1614265330";
    let good = v1a(&sk, ID, ts, BODY);
    let asym = |pks: &[&str], secrets: &[&str]| {
        let pks = pks
            .iter()
            .map(|k| PublicKey::parse(k).expect("pk"))
            .collect();
        let keys = secrets
            .iter()
            .map(|k| SymmetricKey::parse(k).expect("key"))
            .collect();
        StandardWebhooks::new(keys, pks, Duration::from_secs(300)).expect("verifier")
    };
    let cases: Vec<(&str, StandardWebhooks, String, &[u8], &str)> = vec![
        ("signed", asym(&[&pk], &[]), good.clone(), BODY, "ok"),
        (
            "rotation",
            asym(&[&other_pk, &pk], &[]),
            good.clone(),
            BODY,
            "ok",
        ),
        (
            "wrong key",
            asym(&[&other_pk], &[]),
            good.clone(),
            BODY,
            "bad_signature",
        ),
        (
            "tampered",
            asym(&[&pk], &[]),
            good.clone(),
            b"{}",
            "bad_signature",
        ),
        (
            "v1a without public keys",
            verifier(&[SECRET]),
            good.clone(),
            BODY,
            "bad_signature",
        ),
        (
            "mixed, v1 good",
            asym(&[&other_pk], &[SECRET]),
            format!("{good} {SIG}"),
            BODY,
            "ok",
        ),
        (
            "mixed, v1a good",
            asym(&[&pk], &[OTHER]),
            format!("{SIG} {good}"),
            BODY,
            "ok",
        ),
        (
            "short v1a",
            asym(&[&pk], &[]),
            "v1a,AAAA".into(),
            BODY,
            "bad_signature",
        ),
    ];
    for (name, v, sig, body, want) in cases {
        assert_eq!(reason(check(&v, ID, ts, &sig, body, TS)), want, "{name}");
    }
}

#[test]
fn key_parsing() {
    let (_, pk) = signing_key();
    assert!(SymmetricKey::parse(SECRET).is_ok());
    assert!(PublicKey::parse(&pk).is_ok());
    for (s, want) in [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_c2hvcnQ=", "decodes to 5 bytes"),
    ] {
        let err = SymmetricKey::parse(s).map(|_| ()).expect_err(s);
        assert!(err.contains(want), "{s}: {err}");
    }
    for (s, want) in [
        (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "must start with whpk_",
        ),
        ("whpk_???", "not valid base64"),
        ("whpk_c2hvcnQ=", "32 bytes"),
    ] {
        let err = PublicKey::parse(s).map(|_| ()).expect_err(s);
        assert!(err.contains(want), "{s}: {err}");
    }
    assert!(StandardWebhooks::new(vec![], vec![], Duration::from_secs(1)).is_err());
    assert_eq!(
        format!("{:?}", SymmetricKey::parse(SECRET).expect("key")),
        "SymmetricKey(***)"
    );
}
