//! Governed partner webhooks against the real proxy: Standard Webhooks verification with key
//! rotation and the replay window, body rules, unknown partner paths, dedupe (a duplicate gets
//! the first outcome and is not forwarded again), rate limits that reject (429 + quota
//! headers) or queue (202 after the spool made it durable, delivered later in order), an
//! upstream that is down and comes back, and a kill -9 loop after which every webhook that got
//! a 202 is delivered.

use crate::common;
use base64::Engine;
use hmac::{Hmac, Mac};
use std::time::Duration;
use switchyard_test_support::client::{self, Resp};
use switchyard_test_support::eventually;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};

/// The Standard Webhooks secret of the tests (`whsec_` + base64 of 24 bytes).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_c3dpdGNoeWFyZC1vbGQta2V5LTEyMzQ1Ng==";

/// `webhook-signature` for `id`, `ts` and `body` under `secret`.
pub fn sign(secret: &str, id: &str, ts: i64, body: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

/// A signed POST of `body` to `path` as partner dhl, with `id` and a timestamp `skew` s off.
pub fn post(
    addr: std::net::SocketAddr,
    path: &str,
    id: &str,
    skew: i64,
    body: &str,
    secret: &str,
) -> Resp {
    let ts = chrono::Utc::now().timestamp() + skew;
    let headers = [
        format!("webhook-id: {id}"),
        format!("webhook-timestamp: {ts}"),
        format!("webhook-signature: {}", sign(secret, id, ts, body)),
        "Content-Type: application/json".to_owned(),
    ];
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    client::request(addr, "POST", "hooks.erp.test", path, &refs, body.as_bytes())
}

/// Partner dhl on /hooks/dhl/ (Standard Webhooks, two secrets, dedupe on webhook-id) and
/// the given `rate`/`on_limit` lines; the hooks route goes to `up`.
pub fn config(up: &str, partner_extra: &str, state: &str) -> String {
    std::env::set_var("SY_TEST_DHL_WHSEC", SECRET);
    std::env::set_var("SY_TEST_DHL_OLD", OLD_SECRET);
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, workers: 1 }}
admin:
  listen: 127.0.0.1:0
  tokens:
    - {{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}
    - {{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}
state: {state}
pools:
  integration: {{ endpoints: [{up}], timeouts: {{ connect: 200ms, request: 2s }} }}
routes:
  - name: hooks
    match: {{ path_prefix: /hooks/ }}
    upstream: {{ stable: integration }}
    webhooks: true
partners:
  dhl:
    match: {{ path_prefix: /hooks/dhl/ }}
    verify: {{ standard_webhooks: {{ secrets: [{{ env: SY_TEST_DHL_WHSEC }}, {{ env: SY_TEST_DHL_OLD }}] }} }}
    dedupe: {{ key: "header:webhook-id", ttl: 1h }}
    body: {{ max: 4KiB, content_types: [application/json] }}
{partner_extra}
spool: {{ retry: {{ initial: 50ms, max: 200ms, max_age: 1h }} }}
observability: {{ access_log: {{ to: "off" }} }}
"#
    )
}

fn local() -> &'static str {
    r#"{ backend: local, data_dir: "${DATA_DIR}" }"#
}

#[test]
fn verification_body_rules_and_unknown_partners() {
    common::env();
    let up = RecordingUpstream::start();
    let p = TestProxy::start(&config(&up.url(), "", local()));
    let body = r#"{"shipment":"JD014600006103","event":"delivered"}"#;
    let ok = post(p.addr, "/hooks/dhl/events", "msg_1", 0, body, SECRET);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let seen = up.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        body.as_bytes(),
        "the body reaches Odoo byte for byte"
    );
    assert_eq!(
        post(p.addr, "/hooks/dhl/events", "msg_2", 0, body, OLD_SECRET).status,
        200,
        "key rotation"
    );
    let cases: [(&str, i64, &str, &str, u16); 6] = [
        (
            "msg_3",
            0,
            body,
            "whsec_d3JvbmctdGVzdC1rZXktMDEyMzQ1Njc4OQ==",
            401,
        ),
        ("msg_4", 301, body, SECRET, 401),
        ("msg_5", -301, body, SECRET, 401),
        ("msg_6", 300, body, SECRET, 200),
        ("msg_7", -300, body, SECRET, 200),
        ("msg_8", 0, "{not json", SECRET, 400),
    ];
    for (id, skew, b, secret, want) in cases {
        let r = post(p.addr, "/hooks/dhl/events", id, skew, b, secret);
        assert_eq!(r.status, want, "{id}: {}", r.text());
        if want >= 400 {
            assert_eq!(r.header("content-type"), Some("application/problem+json"));
        }
    }
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(5000));
    assert_eq!(
        post(p.addr, "/hooks/dhl/events", "msg_9", 0, &big, SECRET).status,
        413
    );
    let xml = client::request(
        p.addr,
        "POST",
        "hooks.erp.test",
        "/hooks/dhl/x",
        &["Content-Type: application/xml"],
        b"<a/>",
    );
    assert_eq!(xml.status, 415);
    let stranger = client::request(
        p.addr,
        "POST",
        "hooks.erp.test",
        "/hooks/ups/x",
        &["Content-Type: application/json"],
        b"{}",
    );
    assert_eq!(
        (stranger.status, stranger.json()["type"].as_str()),
        (404, Some("urn:switchyard:problem:unknown-partner"))
    );
    assert_eq!(up.requests().len(), 4, "nothing refused was forwarded");
    let m = p.metrics();
    assert!(
        m.contains(
            r#"switchyard_webhook_verifications_total{partner="dhl",result="bad_signature"} 1"#
        ),
        "{m}"
    );
    assert!(
        m.contains(
            r#"switchyard_webhook_verifications_total{partner="dhl",result="stale_timestamp"} 2"#
        ),
        "{m}"
    );
}

#[test]
fn duplicates_get_the_first_outcome_and_are_not_forwarded_again() {
    common::env();
    let up = RecordingUpstream::with(Behavior::Respond(201, "created".into()));
    let p = TestProxy::start(&config(&up.url(), "", local()));
    let body = r#"{"asn":"856-1"}"#;
    let first = post(p.addr, "/hooks/dhl/asn", "msg_dup", 0, body, SECRET);
    let again = post(p.addr, "/hooks/dhl/asn", "msg_dup", 5, body, SECRET);
    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(again.header("x-switchyard-duplicate"), Some("true"));
    assert_eq!(up.requests().len(), 1);
}

#[test]
fn over_the_rate_rejects_with_quota_headers() {
    common::env();
    let up = RecordingUpstream::start();
    let p = TestProxy::start(&config(
        &up.url(),
        "    rate: { limit: 1/min, burst: 2 }\n    on_limit: reject",
        local(),
    ));
    let statuses: Vec<Resp> = (0..4)
        .map(|i| post(p.addr, "/hooks/dhl/e", &format!("r{i}"), 0, "{}", SECRET))
        .collect();
    assert_eq!(
        statuses.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 200, 429, 429]
    );
    let r = &statuses[2];
    assert_eq!(r.header("ratelimit-policy"), Some("\"dhl\";q=2;w=120"));
    assert!(r
        .header("retry-after")
        .is_some_and(|s| s.parse::<u64>().is_ok_and(|s| (1..=60).contains(&s))));
}

#[test]
fn queued_webhooks_are_durable_and_delivered_in_order_when_the_upstream_returns() {
    common::env();
    let port = switchyard_test_support::free_port();
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let p = TestProxy::start(&config(
        &format!("http://{at}"),
        "    on_limit: queue",
        local(),
    ));
    // The upstream is down: every webhook is spooled and answered 202.
    for i in 0..10 {
        let r = post(
            p.addr,
            "/hooks/dhl/e",
            &format!("q{i}"),
            0,
            &format!("{{\"n\":{i}}}"),
            SECRET,
        );
        assert_eq!(r.status, 202, "{}", r.text());
        assert!(r
            .header("location")
            .is_some_and(|l| l.starts_with("/api/v1/spool/dhl/")));
    }
    let spool = client::admin(
        p.admin,
        "GET",
        "/api/v1/spool",
        Some(common::VIEWER_TOKEN),
        &[],
        b"",
    )
    .json();
    assert_eq!(spool["partners"][0]["depth"], 10, "{spool}");
    // A duplicate of a queued webhook gets the same 202 and is not queued twice.
    let dup = post(p.addr, "/hooks/dhl/e", "q3", 0, "{\"n\":3}", SECRET);
    assert_eq!(
        (dup.status, dup.header("x-switchyard-duplicate")),
        (202, Some("true"))
    );
    // Up again, where it was: everything arrives, in order.
    let up = RecordingUpstream::on(at, Behavior::Respond(200, "ok".into()));
    let got = eventually(Duration::from_secs(10), || {
        (up.requests().len() >= 10).then(|| up.requests())
    });
    let got = got.expect("all delivered");
    let order: Vec<String> = got
        .iter()
        .map(|r| r.header("webhook-id").join(""))
        .collect();
    assert_eq!(order, (0..10).map(|i| format!("q{i}")).collect::<Vec<_>>());
    assert!(got
        .iter()
        .all(|r| !r.header("x-switchyard-delivery").is_empty()));
    let drained = eventually(Duration::from_secs(5), || {
        let s = client::admin(
            p.admin,
            "GET",
            "/api/v1/spool",
            Some(common::VIEWER_TOKEN),
            &[],
            b"",
        )
        .json();
        (s["partners"][0]["depth"] == 0).then_some(())
    });
    assert!(drained.is_some());
    assert!(p.metrics().contains(
        r#"switchyard_spool_delivery_attempts_total{partner="dhl",result="delivered"} 10"#
    ));
}

/// The real binary, killed with SIGKILL 20 times while partners send: every webhook that was
/// answered 202 is delivered at least once afterwards.
#[test]
fn every_accepted_webhook_survives_kill_9() {
    use std::collections::BTreeSet;
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let upstream_at =
        std::net::SocketAddr::from(([127, 0, 0, 1], switchyard_test_support::free_port()));
    let state = format!(
        r#"{{ backend: local, data_dir: "{}" }}"#,
        dir.path().join("data").display()
    );
    let base = config(
        &format!("http://{upstream_at}"),
        "    on_limit: queue",
        &state,
    );
    let cfg = dir.path().join("switchyard.yaml");
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let start = |port: u16| {
        let admin = switchyard_test_support::free_port();
        let yaml = base
            .replace(
                "listen: 127.0.0.1:0, workers: 1",
                &format!("listen: 127.0.0.1:{port}, workers: 1"),
            )
            .replace(
                "  listen: 127.0.0.1:0\n",
                &format!("  listen: 127.0.0.1:{admin}\n"),
            );
        std::fs::write(&cfg, yaml).expect("config");
        let child = Command::new(switchyard_test_support::binary())
            .args(["run", "--config", &cfg.display().to_string()])
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.path().join("stderr.log"))
                    .map_or(Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("spawn");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let up = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(addr).ok().map(|_| ())
        });
        let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
        assert!(up.is_some(), "switchyard did not start: {log}");
        (child, addr)
    };
    for round in 0..20u64 {
        let (mut child, addr) = start(switchyard_test_support::free_port());
        let senders: Vec<_> = (0..3u64)
            .map(|t| {
                let accepted = accepted.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u64 {
                        let id = format!("crash-{round}-{t}-{i}");
                        let r = std::panic::catch_unwind(|| {
                            post(addr, "/hooks/dhl/e", &id, 0, "{}", SECRET)
                        });
                        match r {
                            Ok(r) if r.status == 202 => {
                                accepted.lock().expect("lock").insert(id);
                            }
                            Ok(_) => {}
                            Err(_) => return, // the proxy was killed under us
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(60 + (round * 37) % 120));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        for s in senders {
            let _ = s.join();
        }
    }
    let want = accepted.lock().expect("lock").clone();
    assert!(
        want.len() > 40,
        "the load produced accepted webhooks ({})",
        want.len()
    );
    let up = RecordingUpstream::on(upstream_at, Behavior::Respond(200, "ok".into()));
    let (mut child, _) = start(switchyard_test_support::free_port());
    let delivered = eventually(Duration::from_secs(60), || {
        let got: BTreeSet<String> = up
            .requests()
            .iter()
            .map(|r| r.header("webhook-id").join(""))
            .collect();
        want.is_subset(&got).then_some(got.len())
    });
    let _ = child.kill();
    let _ = child.wait();
    let got: BTreeSet<String> = up
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").join(""))
        .collect();
    let missing: Vec<&String> = want.difference(&got).take(5).collect();
    assert!(
        delivered.is_some(),
        "{} accepted webhooks, {} delivered, missing e.g. {missing:?}",
        want.len(),
        got.len()
    );
}

fn redis_state(r: &switchyard_test_support::redis::Redis, prefix: &str) -> String {
    format!(
        r#"{{ backend: redis, data_dir: "${{DATA_DIR}}", redis: {{ url: "{}", prefix: "{prefix}", timeout: 50ms }} }}"#,
        r.url()
    )
}

/// Dedupe holds across replicas sharing one redis.
#[test]
fn a_duplicate_sent_to_another_replica_is_not_forwarded_again() {
    common::env();
    let r = switchyard_test_support::redis::Redis::start();
    let up = RecordingUpstream::start();
    let yaml = config(&up.url(), "", &redis_state(&r, "wh-dd:"));
    let (a, b) = (TestProxy::start(&yaml), TestProxy::start(&yaml));
    assert_eq!(
        post(a.addr, "/hooks/dhl/e", "msg_r1", 0, "{}", SECRET).status,
        200
    );
    let again = post(b.addr, "/hooks/dhl/e", "msg_r1", 0, "{}", SECRET);
    assert_eq!(
        (again.status, again.header("x-switchyard-duplicate")),
        (200, Some("true"))
    );
    assert_eq!(up.requests().len(), 1);
}

/// Three replicas with concurrent senders never admit more than the partner's global limit.
#[test]
fn three_replicas_never_admit_more_than_the_global_limit() {
    common::env();
    let r = switchyard_test_support::redis::Redis::start();
    let up = RecordingUpstream::start();
    let yaml = config(
        &up.url(),
        "    rate: { limit: 20/s, burst: 10 }\n    on_limit: reject",
        &redis_state(&r, "wh-rl:"),
    );
    let replicas: Vec<TestProxy> = (0..3).map(|_| TestProxy::start(&yaml)).collect();
    let t0 = std::time::Instant::now();
    let senders: Vec<_> = replicas
        .iter()
        .flat_map(|p| [p.addr, p.addr])
        .enumerate()
        .map(|(n, addr)| {
            std::thread::spawn(move || {
                let mut ok = 0u32;
                for i in 0..60 {
                    if post(addr, "/hooks/dhl/e", &format!("g{n}-{i}"), 0, "{}", SECRET).status
                        == 200
                    {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let admitted: u32 = senders.into_iter().map(|s| s.join().expect("join")).sum();
    let elapsed = t0.elapsed().as_secs_f64();
    let bound = 10.0 + 20.0 * elapsed;
    assert!(
        f64::from(admitted) <= bound + 1.0,
        "{admitted} admitted in {elapsed:.2}s (bound {bound:.1})"
    );
    assert!(admitted >= 10, "the burst passes: {admitted}");
}

/// With redis gone or frozen: `fail_mode: open` admits on the replica's own bucket, `closed`
/// answers 503 — both within `state.redis.timeout`, never hanging.
#[test]
fn redis_down_or_paused_applies_each_partners_fail_mode() {
    common::env();
    let mut r = switchyard_test_support::redis::Redis::start();
    let up = RecordingUpstream::start();
    let yaml = config(&up.url(), "    rate: { limit: 100/s, burst: 100 }\n    fail_mode: open", &redis_state(&r, "wh-fm:"))
        .replace("spool:", "  ups:\n    match: { path_prefix: /hooks/ups/ }\n    verify: { standard_webhooks: { secret: { env: SY_TEST_DHL_WHSEC } } }\n    rate: { limit: 100/s, burst: 100 }\n    fail_mode: closed\nspool:");
    let p = TestProxy::start(&yaml);
    let probe = |path: &str, id: &str| {
        let t0 = std::time::Instant::now();
        let s = post(p.addr, path, id, 0, "{}", SECRET).status;
        (s, t0.elapsed())
    };
    assert_eq!(probe("/hooks/dhl/e", "f0").0, 200);
    assert_eq!(probe("/hooks/ups/e", "f1").0, 200);
    r.pause();
    for (path, want) in [("/hooks/dhl/e", 200), ("/hooks/ups/e", 503)] {
        let (status, took) = probe(path, &format!("paused-{path}"));
        assert_eq!(status, want, "{path} with redis paused");
        assert!(took < Duration::from_millis(800), "{path} waited {took:?}");
    }
    r.stop();
    for (path, want) in [("/hooks/dhl/e", 200), ("/hooks/ups/e", 503)] {
        let (status, took) = probe(path, &format!("down-{path}"));
        assert_eq!(status, want, "{path} with redis down");
        assert!(took < Duration::from_millis(800), "{path} waited {took:?}");
    }
}

/// A 5xx from the ERP is not remembered: the partner's retry with the same id goes through.
#[test]
fn a_retryable_failure_is_not_remembered_as_the_outcome() {
    common::env();
    let failing = RecordingUpstream::with(Behavior::Respond(500, "boom".into()));
    let p = TestProxy::start(&config(&failing.url(), "", local()));
    assert_eq!(
        post(p.addr, "/hooks/dhl/e", "msg_500", 0, "{}", SECRET).status,
        500
    );
    let retry = eventually(Duration::from_secs(2), || {
        let r = post(p.addr, "/hooks/dhl/e", "msg_500", 0, "{}", SECRET);
        (r.header("x-switchyard-duplicate").is_none()).then_some(r.status)
    });
    assert_eq!(
        retry,
        Some(500),
        "forwarded again, not answered from memory"
    );
    assert_eq!(failing.requests().len(), 2);
}
