//! Canary splitting end to end: sticky cohorts (tenant, cookie), pilot and excluded tenants,
//! the tester override, live weight changes through the admin API, a rollback that reaches
//! cookie-pinned users, WebSocket sessions that follow their pages, the guard's automatic
//! rollback, ramps, overrides that survive a restart and yield to a config change, and bad
//! input answered with problem+json naming the field.

use crate::common::{self, OPERATOR_TOKEN, VIEWER_TOKEN};
use serde_json::Value;
use std::io::{Read, Write};
use std::time::Duration;
use switchyard_test_support::client::{self, Resp};
use switchyard_test_support::eventually;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};

/// A config with route `odoo` split between `stable` and `canary` (its `canary:` block given
/// as YAML flow), and route `plain` without a canary.
pub fn config(stable: &RecordingUpstream, canary: &RecordingUpstream, canary_yaml: &str) -> String {
    config_state(
        stable,
        canary,
        canary_yaml,
        r#"{ backend: local, data_dir: "${DATA_DIR}" }"#,
    )
}

/// The same with a given `state:` block.
pub fn config_state(
    stable: &RecordingUpstream,
    canary: &RecordingUpstream,
    canary_yaml: &str,
    state: &str,
) -> String {
    format!(
        r#"
server:
  listen: 127.0.0.1:0
  workers: 1
  trusted_proxies: [10.9.0.0/16]
admin:
  listen: 127.0.0.1:0
  tokens:
    - {{ name: root, role: admin, token: {{ env: SY_TEST_ADMIN }} }}
    - {{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}
    - {{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}
state: {state}
pools:
  odoo-stable: {{ endpoints: [{}] }}
  odoo-canary: {{ endpoints: [{}] }}
tenants:
  identify: [{{ host: "{{tenant}}.erp.test" }}]
  list: {{ acme: {{}}, globex: {{}}, initech: {{}}, umbrella: {{}} }}
routes:
  - name: plain
    match: {{ host: static.test }}
    upstream: {{ stable: odoo-stable }}
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo-stable, canary: odoo-canary }}
    canary: {canary_yaml}
observability:
  access_log: {{ to: "off" }}
"#,
        stable.url(),
        canary.url()
    )
}

fn variant(r: &Resp) -> &str {
    r.header("x-switchyard-variant").unwrap_or("")
}

/// `PUT /api/v1/routes/{route}/canary` as the operator.
pub fn set_weight(p: &TestProxy, route: &str, body: &str) -> Resp {
    let path = format!("/api/v1/routes/{route}/canary");
    client::admin(
        p.admin,
        "PUT",
        &path,
        Some(OPERATOR_TOKEN),
        &["Content-Type: application/json"],
        body.as_bytes(),
    )
}

fn post(p: &TestProxy, path: &str, token: &str, body: &str) -> Resp {
    client::admin(
        p.admin,
        "POST",
        path,
        Some(token),
        &["Content-Type: application/json"],
        body.as_bytes(),
    )
}

fn canary_view(p: &TestProxy) -> Value {
    client::admin(
        p.admin,
        "GET",
        "/api/v1/routes/odoo/canary",
        Some(VIEWER_TOKEN),
        &[],
        b"",
    )
    .json()
}

#[test]
fn cookie_rollback_reaches_pinned_users() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&config(&s, &c, "{ weight: 0, sticky: cookie }"));
    let first = client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!((first.status, variant(&first)), (200, "stable"));
    let set = first
        .header("set-cookie")
        .expect("a bucket cookie")
        .to_owned();
    let pair = set.split(';').next().expect("cookie pair").to_owned();
    let bucket: u16 = pair
        .strip_prefix("switchyard_canary=")
        .expect("name")
        .parse()
        .expect("the cookie holds a bucket number, not a variant");
    assert!(bucket < 10_000 && set.contains("HttpOnly"), "{set}");
    let cookie = format!("Cookie: theme=dark; {pair}");

    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 100, "reason": "all in"}"#).status,
        200
    );
    let r = client::get(p.addr, "acme.erp.test", "/web", &[&cookie]);
    assert_eq!(variant(&r), "canary");
    assert!(r.header("set-cookie").is_none(), "a valid bucket is kept");
    assert_eq!(c.requests().len(), 1);

    let rb = post(
        &p,
        "/api/v1/routes/odoo/canary/rollback",
        OPERATOR_TOKEN,
        r#"{"reason": "bad build"}"#,
    );
    assert_eq!((rb.status, rb.json()["weight"].as_f64()), (200, Some(0.0)));
    let r = client::get(p.addr, "acme.erp.test", "/web", &[&cookie]);
    assert_eq!(
        variant(&r),
        "stable",
        "a rollback moves cookie-pinned users too"
    );
    assert_eq!(c.requests().len(), 1);
    let m = p.metrics();
    assert!(
        m.contains(r#"switchyard_canary_rollbacks_total{cause="manual",route="odoo"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"switchyard_canary_weight{route="odoo"} 0"#),
        "{m}"
    );
    assert!(m.contains(r#"variant="canary""#), "{m}");
}

fn websocket(p: &TestProxy, cookie: &str) -> Resp {
    let mut s = client::connect(p.addr);
    let req = format!("GET /websocket HTTP/1.1\r\nHost: acme.erp.test\r\n{cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    s.write_all(req.as_bytes()).expect("write");
    let r = client::read_response(&mut s, false);
    assert_eq!(r.status, 101);
    s.write_all(b"frame").expect("write");
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).expect("echo");
    r
}

#[test]
fn websocket_follows_its_session() {
    common::env();
    let (s, c) = (
        RecordingUpstream::with(Behavior::UpgradeEcho),
        RecordingUpstream::with(Behavior::UpgradeEcho),
    );
    let p = TestProxy::start(&config(&s, &c, "{ weight: 50, sticky: cookie }"));
    for (bucket, want) in [(10, "canary"), (9000, "stable")] {
        let cookie = format!("Cookie: switchyard_canary={bucket}");
        let page = client::get(p.addr, "acme.erp.test", "/web", &[&cookie]);
        let bus = websocket(&p, &cookie);
        let poll = client::get(p.addr, "acme.erp.test", "/longpolling/poll", &[&cookie]);
        assert_eq!(
            (variant(&page), variant(&bus), variant(&poll)),
            (want, want, want),
            "bucket {bucket}"
        );
    }
    assert_eq!((s.requests().len(), c.requests().len()), (3, 3));
}

#[test]
fn tenant_cohorts_pilots_exclusions_and_the_tester_override() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let yaml = "{ weight: 0.01, sticky: tenant, pilot_tenants: [globex], excluded_tenants: [acme], override: { header: X-Canary, from: [127.0.0.1/32] } }";
    let p = TestProxy::start(&config(&s, &c, yaml));
    let ask =
        |host: &str, extra: &[&str]| variant(&client::get(p.addr, host, "/web", extra)).to_owned();
    assert_eq!(ask("globex.erp.test", &[]), "canary", "pilot");
    assert_eq!(
        ask("acme.erp.test", &["X-Canary: always"]),
        "stable",
        "excluded beats override"
    );
    assert_eq!(
        ask("initech.erp.test", &["X-Canary: always"]),
        "canary",
        "trusted tester"
    );
    assert_eq!(ask("globex.erp.test", &["X-Canary: never"]), "stable");
    // A whole tenant is one cohort: every request of a tenant sees the same release.
    for t in ["initech", "umbrella"] {
        let seen: Vec<String> = (0..5).map(|_| ask(&format!("{t}.erp.test"), &[])).collect();
        assert!(seen.iter().all(|v| v == &seen[0]), "{t}: {seen:?}");
    }
    assert!(
        c.requests()
            .iter()
            .chain(s.requests().iter())
            .all(|r| r.header("x-canary").is_empty()),
        "the override header never reaches Odoo"
    );
    let plain = client::get(p.addr, "static.test", "/", &[]);
    assert_eq!(
        (plain.status, variant(&plain)),
        (200, ""),
        "routes without canary carry no variant"
    );

    // From a source outside `override.from` the header is ignored (and still stripped).
    let untrusted = yaml.replace("127.0.0.1/32", "10.0.0.0/8");
    p.write_config(&config(&s, &c, &untrusted));
    assert!(eventually(Duration::from_secs(5), || (p.version() == 2).then_some(())).is_some());
    assert_eq!(
        ask("initech.erp.test", &["X-Canary: always"]),
        ask("initech.erp.test", &[])
    );
}

#[test]
fn bad_admin_input_is_refused_with_the_field() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&config(&s, &c, "{ weight: 5 }"));
    let cases: [(&str, &str, u16, &str); 8] = [
        ("odoo", r#"{"weight": 150, "reason": "x"}"#, 400, "weight"),
        (
            "odoo",
            r#"{"weight": 12.345, "reason": "x"}"#,
            400,
            "weight",
        ),
        ("odoo", r#"{"weight": "ten", "reason": "x"}"#, 400, "weight"),
        ("odoo", r#"{"weight": -1, "reason": "x"}"#, 400, "weight"),
        ("odoo", r#"{"weight": 10}"#, 400, "reason"),
        ("odoo", r#"{"weight": 10, "reason": "  "}"#, 400, "reason"),
        ("nope", r#"{"weight": 10, "reason": "x"}"#, 404, ""),
        ("plain", r#"{"weight": 10, "reason": "x"}"#, 409, ""),
    ];
    for (route, body, status, field) in cases {
        let r = set_weight(&p, route, body);
        assert_eq!(r.status, status, "{route} {body}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        if !field.is_empty() {
            assert_eq!(r.json()["field"], field, "{body}");
        }
    }
    let viewer = client::admin(
        p.admin,
        "PUT",
        "/api/v1/routes/odoo/canary",
        Some(VIEWER_TOKEN),
        &[],
        br#"{"weight": 10, "reason": "x"}"#,
    );
    assert_eq!(viewer.status, 403);
    let ramp = post(
        &p,
        "/api/v1/routes/odoo/canary/ramp",
        OPERATOR_TOKEN,
        r#"{"action": "start", "reason": "x"}"#,
    );
    assert_eq!(ramp.status, 409, "no ramp configured: {}", ramp.text());
    assert_eq!(canary_view(&p)["weight"], 5.0, "nothing was applied");
    assert_eq!(canary_view(&p)["source"], "config");
}

#[test]
fn overrides_survive_restart_and_yield_to_a_config_change() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let yaml = config(&s, &c, "{ weight: 5 }");
    let p = TestProxy::start(&yaml);
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 30, "reason": "widen pilot"}"#).status,
        200
    );
    let p = p.restart();
    let v = canary_view(&p);
    assert_eq!(
        (
            v["weight"].as_f64(),
            v["source"].as_str(),
            v["config_weight"].as_f64()
        ),
        (Some(30.0), Some("override"), Some(5.0)),
        "{v}"
    );
    assert_eq!(v["override"]["by"], "deploy-bot");
    assert_eq!(v["override"]["reason"], "widen pilot");

    // Git changes the value the override replaced: Git wins and the drop is audited.
    p.write_config(&yaml.replace("{ weight: 5 }", "{ weight: 10 }"));
    let v = eventually(Duration::from_secs(5), || {
        let v = canary_view(&p);
        (v["source"] == "config").then_some(v)
    })
    .expect("override dropped");
    assert_eq!(v["weight"], 10.0);
    let actions = || -> Vec<String> {
        let audit = client::admin(
            p.admin,
            "GET",
            "/api/v1/audit?limit=1000",
            Some(VIEWER_TOKEN),
            &[],
            b"",
        )
        .json();
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter_map(|e| e["action"].as_str().map(str::to_owned))
            .collect()
    };
    let seen = eventually(Duration::from_secs(5), || {
        let a = actions();
        a.iter()
            .any(|x| x == "canary.override.dropped")
            .then_some(a)
    });
    assert!(
        seen.is_some_and(|a| a.iter().any(|x| x == "canary.set")),
        "{:?}",
        actions()
    );
}

fn spread(p: &TestProxy, n: usize) {
    for i in 0..n {
        let user = format!("X-User: user-{i}");
        let _ = client::get(p.addr, "acme.erp.test", "/web", &[&user]);
    }
}

#[test]
fn guard_rolls_back_a_failing_canary_and_spares_a_healthy_one() {
    common::env();
    let s = RecordingUpstream::start();
    let healthy = RecordingUpstream::start();
    let yaml = "{ weight: 50, sticky: 'header:X-User', guard: { window: 30s, min_requests: 20, max_error_rate: 0.05 } }";
    let p = TestProxy::start(&config(&s, &healthy, yaml));
    spread(&p, 120);
    std::thread::sleep(TICK_WAIT);
    assert_eq!(
        canary_view(&p)["weight"],
        50.0,
        "a healthy canary keeps its weight"
    );
    drop(p);

    let failing = RecordingUpstream::with(Behavior::Respond(500, "boom".into()));
    let p = TestProxy::start(&config(&s, &failing, yaml));
    spread(&p, 10);
    std::thread::sleep(TICK_WAIT);
    assert_eq!(
        canary_view(&p)["weight"],
        50.0,
        "too few samples never trigger the guard"
    );
    spread(&p, 110);
    let v = eventually(Duration::from_secs(5), || {
        let v = canary_view(&p);
        (v["weight"] == 0.0).then_some(v)
    })
    .expect("automatic rollback");
    assert!(
        v["override"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("automatic rollback")),
        "{v}"
    );
    assert_eq!(v["override"]["by"], "system:guard");
    let m = p.metrics();
    assert!(
        m.contains(r#"switchyard_canary_rollbacks_total{cause="error_rate",route="odoo"} 1"#),
        "{m}"
    );
    let before = failing.requests().len();
    spread(&p, 20);
    assert_eq!(
        failing.requests().len(),
        before,
        "nothing reaches the rolled-back canary"
    );
}

/// Longer than a few controller ticks.
pub const TICK_WAIT: Duration = Duration::from_millis(400);

#[test]
fn ramp_steps_pauses_and_finishes() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&config(
        &s,
        &c,
        "{ weight: 0, ramp: { steps: [10, 50, 100], every: 300ms } }",
    ));
    let start = post(
        &p,
        "/api/v1/routes/odoo/canary/ramp",
        OPERATOR_TOKEN,
        r#"{"action": "start", "reason": "release 17.0.5"}"#,
    );
    assert_eq!(
        (start.status, start.json()["weight"].as_f64()),
        (200, Some(10.0)),
        "{}",
        start.text()
    );
    let pause = post(
        &p,
        "/api/v1/routes/odoo/canary/ramp",
        OPERATOR_TOKEN,
        r#"{"action": "pause", "reason": "lunch"}"#,
    );
    assert_eq!(pause.json()["ramp"]["state"], "paused", "{}", pause.text());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        canary_view(&p)["weight"],
        10.0,
        "a paused ramp holds its step"
    );
    let resume = post(
        &p,
        "/api/v1/routes/odoo/canary/ramp",
        OPERATOR_TOKEN,
        r#"{"action": "resume", "reason": "back"}"#,
    );
    assert_eq!(resume.status, 200);
    let mut seen = vec![10.0];
    let done = eventually(Duration::from_secs(5), || {
        let v = canary_view(&p);
        let w = v["weight"].as_f64().unwrap_or(-1.0);
        if seen.last() != Some(&w) {
            seen.push(w);
        }
        (v["ramp"]["state"] == "done").then_some(v)
    })
    .expect("ramp finished");
    assert_eq!(done["weight"], 100.0);
    assert_eq!(seen, vec![10.0, 50.0, 100.0], "one step at a time");
}

#[test]
fn a_tenant_with_its_own_pools_uses_them_and_gets_canary_only_from_them() {
    common::env();
    let (s, c, own, own_canary) = (
        RecordingUpstream::start(),
        RecordingUpstream::start(),
        RecordingUpstream::start(),
        RecordingUpstream::start(),
    );
    let base = config(&s, &c, "{ weight: 100 }").replace(
        "  odoo-canary:",
        &format!("  acme-own: {{ endpoints: [{}] }}\n  acme-canary: {{ endpoints: [{}] }}\n  odoo-canary:", own.url(), own_canary.url()),
    );
    let p = TestProxy::start(&base.replace("acme: {}", "acme: { upstream: { stable: acme-own } }"));
    let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!(
        (r.status, variant(&r)),
        (200, "stable"),
        "no canary pool of its own: never canary"
    );
    assert_eq!(
        variant(&client::get(p.addr, "globex.erp.test", "/web", &[])),
        "canary"
    );
    assert_eq!(
        (own.requests().len(), s.requests().len(), c.requests().len()),
        (1, 0, 1)
    );

    p.write_config(&base.replace(
        "acme: {}",
        "acme: { upstream: { stable: acme-own, canary: acme-canary } }",
    ));
    assert!(eventually(Duration::from_secs(5), || (p.version() == 2).then_some(())).is_some());
    let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!(variant(&r), "canary");
    assert_eq!(
        (own_canary.requests().len(), c.requests().len()),
        (1, 1),
        "its own canary pool, not the route's"
    );
}
