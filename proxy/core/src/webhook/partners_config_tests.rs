//! Tests of the `partners:` config section: the SPEC example compiles to the expected
//! partners, matching picks the longest prefix, secrets resolve through the injected `Env`,
//! and every mistake is reported at its path.

use super::tests::{headers, view};
use super::*;
use crate::config::partners::{compile, match_partner, FailMode, OnLimit, Partner, PartnerSpec};
use crate::config::{Env, Errors, HostMatch};
use base64::Engine;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

struct FakeEnv {
    vars: HashMap<&'static str, &'static str>,
    files: HashMap<&'static str, &'static str>,
}

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(|s| s.to_string())
    }
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        let p = path.to_str().unwrap_or_default();
        self.files
            .get(p)
            .map(|s| s.to_string())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn env() -> FakeEnv {
    FakeEnv {
        vars: HashMap::from([
            ("DHL_WHSEC", WHSEC),
            ("OLD_WHSEC", "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"),
            ("GH_SECRET", "gh-secret"),
            ("SHORT", "short"),
            ("NOT_WHSEC", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("BAD_B64", "whsec_***"),
        ]),
        files: HashMap::from([("/run/secrets/acme-key", "acme-api-key-0123456789\n")]),
    }
}

fn build(yaml: &str) -> (Vec<Partner>, Vec<String>) {
    let spec: BTreeMap<String, PartnerSpec> =
        serde_yaml_ng::from_str(yaml).expect("test yaml parses");
    let mut errs = Errors::default();
    let partners = compile(&spec, &env(), &mut errs);
    (partners, errs.0.iter().map(ToString::to_string).collect())
}

const SPEC_EXAMPLE: &str = r#"
dhl:
  match: { path_prefix: /hooks/dhl/ }
  verify: { standard_webhooks: { secret: { env: DHL_WHSEC } } }
  rate: { limit: 20/s, burst: 40 }
  on_limit: queue
  dedupe: { key: "header:webhook-id", ttl: 24h }
  body: { max: 1MiB, content_types: [application/json] }
  fail_mode: open
edi-gateway:
  match: { path_prefix: /hooks/edi/ }
  verify: { client_cert: { subject_cn: edi-gw.partner.example } }
  rate: { limit: 5/s, burst: 50 }
  on_limit: queue
  dedupe: { key: "header:Message-ID", ttl: 72h }
  body: { max: 20MiB, content_types: [application/edi-x12, application/edifact, application/pkcs7-mime] }
"#;

#[test]
fn spec_example_compiles() {
    let (p, errs) = build(SPEC_EXAMPLE);
    assert_eq!(errs, Vec::<String>::new());
    let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["dhl", "edi-gateway"]);
    let (dhl, edi) = (&p[0], &p[1]);
    assert_eq!(dhl.verifier.kind(), "standard_webhooks");
    assert_eq!(dhl.rate.map(|l| (l.rate.limit, l.burst)), Some((20, 40)));
    assert_eq!(
        (dhl.on_limit, dhl.fail_mode, dhl.body_max),
        (OnLimit::Queue, FailMode::Open, 1 << 20)
    );
    let d = dhl.dedupe.as_ref().expect("dedupe");
    assert_eq!(
        (&d.key, d.ttl),
        (
            &DedupeKey::Header(http::HeaderName::from_static("webhook-id")),
            Duration::from_secs(86_400)
        )
    );
    assert!(dhl.require_json, "JSON-only content types imply json: true");
    assert!(!edi.require_json);
    assert_eq!((edi.body_max, edi.host.clone()), (20 << 20, HostMatch::Any));
    assert!(edi
        .content_types
        .allows(Some(b"application/EDIFACT; charset=UTF-8")));
    assert_eq!(
        edi.dedupe.as_ref().map(|d| d.ttl),
        Some(Duration::from_secs(72 * 3600))
    );
    // The compiled verifier checks the spec's reference vector.
    let h = headers(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ]);
    let ok = dhl
        .verifier
        .verify(&view(&h, br#"{"test": 2432232314}"#), 1_614_265_330);
    assert!(ok.is_ok(), "{ok:?}");
    let cn = RequestView {
        headers: &h,
        body: b"",
        client_cn: Some("edi-gw.partner.example"),
    };
    assert!(edi.verifier.verify(&cn, 0).is_ok());
}

#[test]
fn defaults() {
    let (p, errs) = build(
        "x: { match: { path_prefix: /h/ }, verify: { client_cert: { subject_cn: a.example } } }",
    );
    assert_eq!(errs, Vec::<String>::new());
    let x = &p[0];
    assert_eq!(
        (x.on_limit, x.fail_mode, x.body_max),
        (OnLimit::Reject, FailMode::Open, 1 << 20)
    );
    assert!(x.rate.is_none() && x.dedupe.is_none() && !x.require_json && x.content_types.is_any());
    let (p, _) = build("x: { match: { path_prefix: /h/ }, verify: { client_cert: { subject_cn: a } }, rate: { limit: 20/s }, dedupe: { key: body }, json: true }");
    assert_eq!(
        p[0].rate.map(|l| l.burst),
        Some(20),
        "burst defaults to one period"
    );
    assert_eq!(
        p[0].dedupe.as_ref().map(|d| d.ttl),
        Some(Duration::from_secs(86_400))
    );
    assert!(p[0].require_json);
}

#[test]
fn every_scheme_compiles() {
    let pk = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    let pk = format!("whpk_{}", BASE64.encode(pk.as_bytes()));
    let yaml = r#"
sw: { match: { path_prefix: /a/ }, verify: { standard_webhooks: { secrets: [{ env: OLD_WHSEC }, { env: DHL_WHSEC }], public_key: "PK", tolerance: 10m } } }
gh: { match: { path_prefix: /b/ }, verify: { hmac: { header: X-Hub-Signature-256, prefix: "sha256=", secret: { env: GH_SECRET } } } }
ts: { match: { path_prefix: /c/ }, verify: { hmac: { header: X-Sig, algorithm: sha512, encoding: base64, secrets: [{ env: GH_SECRET }], signed: "{timestamp}.{id}.{body}", timestamp: { header: X-Ts, tolerance: 1m }, id_header: X-Id } } }
ak: { match: { path_prefix: /d/, host: "*.partners.example" }, verify: { api_key: { header: Authorization, prefix: "Bearer ", keys: [{ file: /run/secrets/acme-key }] } } }
"#
    .replace("PK", &pk);
    let (p, errs) = build(&yaml);
    assert_eq!(errs, Vec::<String>::new());
    let kinds: Vec<&str> = p.iter().map(|p| p.verifier.kind()).collect();
    assert_eq!(kinds, ["api_key", "hmac", "standard_webhooks", "hmac"]);
    assert_eq!(p[0].host, HostMatch::Suffix(".partners.example".into()));
    let h = headers(&[("authorization", "Bearer acme-api-key-0123456789")]);
    assert!(
        p[0].verifier.verify(&view(&h, b""), 0).is_ok(),
        "file secret, newline trimmed"
    );
}

#[test]
fn matching_takes_the_longest_prefix_then_the_most_specific_host() {
    let yaml = r#"
a: { match: { path_prefix: /hooks/ }, verify: { client_cert: { subject_cn: a } } }
b: { match: { path_prefix: /hooks/dhl/ }, verify: { client_cert: { subject_cn: b } } }
c: { match: { path_prefix: /hooks/dhl/, host: "*.example.com" }, verify: { client_cert: { subject_cn: c } } }
d: { match: { path_prefix: /hooks/dhl/, host: api.example.com }, verify: { client_cert: { subject_cn: d } } }
e: { match: { path_prefix: /hooks/dhl/, host: "*.eu.example.com" }, verify: { client_cert: { subject_cn: e } } }
"#;
    let (p, errs) = build(yaml);
    assert_eq!(errs, Vec::<String>::new());
    for (host, path, want) in [
        ("api.example.com", "/hooks/dhl/x", Some("d")),
        ("x.eu.example.com", "/hooks/dhl/x", Some("e")),
        ("www.example.com", "/hooks/dhl/x", Some("c")),
        ("other.org", "/hooks/dhl/x", Some("b")),
        ("other.org", "/hooks/ups", Some("a")),
        ("api.example.com", "/hooks/ups", Some("a")),
        ("api.example.com", "/web/login", None),
        ("other.org", "/hooks", None),
    ] {
        let got = match_partner(&p, host, path).map(|i| p[i].name.as_str());
        assert_eq!(got, want, "{host}{path}");
    }
}

#[test]
fn every_problem_with_its_path() {
    let one = |rest: &str| format!("dhl: {{ match: {{ path_prefix: /hooks/dhl/ }}, {rest} }}");
    let sw = |s: &str| one(&format!("verify: {{ standard_webhooks: {{ {s} }} }}"));
    let cc = |rest: &str| {
        one(&format!(
            "verify: {{ client_cert: {{ subject_cn: a }} }}, {rest}"
        ))
    };
    for (yaml, want) in [
        (one("verify: {}"), "partners.dhl.verify: exactly one of standard_webhooks, hmac, api_key, client_cert"),
        (one("verify: { client_cert: { subject_cn: a }, api_key: { header: X-Key, keys: [] } }"), "partners.dhl.verify: exactly one of"),
        (sw("secret: { env: DHL_WHSE }"), "partners.dhl.verify.standard_webhooks.secret: environment variable DHL_WHSE is not set"),
        (sw("secret: { env: NOT_WHSEC }"), "partners.dhl.verify.standard_webhooks.secret: a Standard Webhooks secret must start with whsec_"),
        (sw("secrets: [{ env: DHL_WHSEC }, { env: BAD_B64 }]"), "partners.dhl.verify.standard_webhooks.secrets[1]: the part after whsec_ is not valid base64"),
        (sw("secret: { env: DHL_WHSEC }, secrets: [{ env: DHL_WHSEC }]"), "partners.dhl.verify.standard_webhooks: use either secret or secrets"),
        (sw("public_key: whpk_AAAA"), "partners.dhl.verify.standard_webhooks.public_key: an ed25519 public key is 32 bytes"),
        (sw("tolerance: 0s, secret: { env: DHL_WHSEC }"), "partners.dhl.verify.standard_webhooks.tolerance: must be between 1s and 24h"),
        (sw(""), "partners.dhl.verify.standard_webhooks: needs at least one secret or public key"),
        (one("verify: { hmac: { header: X-Sig } }"), "partners.dhl.verify.hmac: needs secret or secrets"),
        (one("verify: { hmac: { header: 'bad header', secret: { env: GH_SECRET } } }"), "partners.dhl.verify.hmac.header: invalid header name"),
        (one("verify: { hmac: { header: X-Sig, signed: '{timestamp}.{body}', secret: { env: GH_SECRET } } }"), "partners.dhl.verify.hmac.signed: signs {timestamp} but hmac.timestamp is not set"),
        (one("verify: { hmac: { header: X-Sig, signed: '{id}', secret: { env: GH_SECRET } } }"), "partners.dhl.verify.hmac.signed: invalid template"),
        (one("verify: { api_key: { header: X-Key, keys: [{ env: SHORT }] } }"), "partners.dhl.verify.api_key.keys[0]: keys must be at least 16 characters"),
        (one("verify: { api_key: { header: X-Key, keys: [{ file: /nope }] } }"), "partners.dhl.verify.api_key.keys[0]: cannot read secret file /nope"),
        (one("verify: { api_key: { header: X-Key, keys: [] } }"), "partners.dhl.verify.api_key.keys: needs at least one key"),
        (one("verify: { client_cert: { subject_cn: ' ' } }"), "partners.dhl.verify.client_cert.subject_cn: must not be empty"),
        (cc("rate: { limit: 20/fortnight }"), "partners.dhl.rate.limit: invalid rate \"20/fortnight\""),
        (cc("rate: { limit: 20/s, burst: 0 }"), "partners.dhl.rate.burst: must be at least 1"),
        (cc("dedupe: { key: webhook-id }"), "partners.dhl.dedupe.key: invalid dedupe key"),
        (cc("dedupe: { key: body, ttl: 0s }"), "partners.dhl.dedupe.ttl: must be at least 1s"),
        (cc("body: { max: 0 }"), "partners.dhl.body.max: must be at least 1 byte"),
        (cc("body: { max: 1 parsec }"), "partners.dhl.body.max: invalid size"),
        (cc("body: { content_types: [application/json, json] }"), "partners.dhl.body.content_types[1]: invalid media type"),
        ("dhl: { match: { path_prefix: /a/../b/ }, verify: { client_cert: { subject_cn: a } } }".into(), "partners.dhl.match.path_prefix: \"/a/../b/\" is not a canonical path"),
        ("dhl: { match: { path_prefix: /a/, host: 'x.com:443' }, verify: { client_cert: { subject_cn: a } } }".into(), "partners.dhl.match.host: invalid host"),
        ("'d h l': { match: { path_prefix: /a/ }, verify: { client_cert: { subject_cn: a } } }".into(), "partners.d h l: invalid partner name"),
        ("a: { match: { path_prefix: /a/ }, verify: { client_cert: { subject_cn: a } } }\nb: { match: { path_prefix: /a/ }, verify: { client_cert: { subject_cn: a } } }".into(), "partners.b.match: same match as partner \"a\""),
    ] {
        let (_, errs) = build(&yaml);
        assert!(errs.len() == 1 && errs[0].starts_with(want), "{yaml}\n  want {want}\n  got {errs:?}");
    }
}

#[test]
fn unknown_keys_and_values_are_refused() {
    for yaml in [
        "dhl: { match: { path_prefix: /a/ }, verify: { client_cert: { subject_cn: a } }, on_limit: drop }",
        "dhl: { match: { path_prefix: /a/ }, verify: { client_cert: { subject_cn: a } }, fail_mode: maybe }",
        "dhl: { match: { path_prefix: /a/, methods: [POST] }, verify: { client_cert: { subject_cn: a } } }",
        "dhl: { match: { path_prefix: /a/ }, verify: { hmac: { header: X, algorithm: md5, secret: { env: GH_SECRET } } } }",
        "dhl: { match: { path_prefix: /a/ }, verify: { standard_webhooks: { secret: whsec_inline } } }",
    ] {
        assert!(serde_yaml_ng::from_str::<BTreeMap<String, PartnerSpec>>(yaml).is_err(), "{yaml}");
    }
}
