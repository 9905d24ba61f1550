//! Change freeze end to end: risk-increasing changes refused with 423 while risk-reducing
//! ones pass, the four-eyes break-glass flow, a held reload that applies by itself when its
//! window ends, requests that are themselves changes refused under every path spelling, the
//! manual "stop the line" API and its bad input, and the audit chain over all of it.

use crate::canary::{config, set_weight};
use crate::common::{self, FREEZE_A_TOKEN, FREEZE_B_TOKEN, OPERATOR_TOKEN, VIEWER_TOKEN};
use chrono::{Duration as Delta, SecondsFormat, Utc};
use serde_json::Value;
use std::time::Duration;
use switchyard_test_support::client::{self, Resp};
use switchyard_test_support::eventually;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;

/// The canary test config with two freeze-admins and this `freeze:` block.
pub fn frozen_config(
    s: &RecordingUpstream,
    c: &RecordingUpstream,
    canary: &str,
    freeze: &str,
) -> String {
    config(s, c, canary)
        .replace(
            "    - { name: dashboard, role: viewer, token: { env: SY_TEST_VIEWER } }",
            "    - { name: dashboard, role: viewer, token: { env: SY_TEST_VIEWER } }\n    - { name: alice, role: freeze-admin, token: { env: SY_TEST_FREEZE_A } }\n    - { name: bob, role: freeze-admin, token: { env: SY_TEST_FREEZE_B } }",
        )
        .replace("observability:", &format!("freeze: {freeze}\nobservability:"))
}

/// A fixed window around now (`from` and `to` seconds from now).
pub fn window(name: &str, from: i64, to: i64, scope: &str) -> String {
    let t = |s: i64| (Utc::now() + Delta::seconds(s)).to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        "{{ name: {name}, start: \"{}\", end: \"{}\"{scope} }}",
        t(from),
        t(to)
    )
}

fn call(p: &TestProxy, method: &str, path: &str, token: &str, body: &str) -> Resp {
    client::admin(
        p.admin,
        method,
        path,
        Some(token),
        &["Content-Type: application/json"],
        body.as_bytes(),
    )
}

#[test]
fn a_freeze_refuses_risk_increasing_changes_and_lets_reductions_through() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let freeze = format!(
        "{{ windows: [{}] }}",
        window("peak", -3600, 3600, ", scope: { routes: [odoo] }")
    );
    let p = TestProxy::start(&frozen_config(
        &s,
        &c,
        "{ weight: 5, ramp: { steps: [10, 50], every: 1h } }",
        &freeze,
    ));
    let up = set_weight(&p, "odoo", r#"{"weight": 10, "reason": "widen"}"#);
    assert_eq!(up.status, 423, "{}", up.text());
    let j = up.json();
    assert_eq!(
        (j["window"].as_str(), j["type"].as_str()),
        (Some("peak"), Some("urn:switchyard:problem:frozen"))
    );
    let retry: i64 = up
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((3500..=3600).contains(&retry), "{retry}");
    let ramp = call(
        &p,
        "POST",
        "/api/v1/routes/odoo/canary/ramp",
        OPERATOR_TOKEN,
        r#"{"action": "start", "reason": "go"}"#,
    );
    assert_eq!(ramp.status, 423, "a ramp start raises the weight");
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 1, "reason": "shrink"}"#).status,
        200
    );
    assert_eq!(
        call(
            &p,
            "POST",
            "/api/v1/routes/odoo/canary/rollback",
            OPERATOR_TOKEN,
            r#"{"reason": "pull"}"#
        )
        .status,
        200
    );
    let m = p.metrics();
    assert!(
        m.contains(r#"switchyard_freeze_refusals_total{kind="canary"} 2"#),
        "{m}"
    );
    let f = call(&p, "GET", "/api/v1/freeze", VIEWER_TOKEN, "").json();
    assert_eq!(f["active"][0]["window"], "peak", "{f}");
}

#[test]
fn break_glass_needs_a_second_freeze_admin_and_is_named_in_the_audit() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let freeze = format!(
        "{{ windows: [{}], break_glass: {{ max_ttl: 1h, approvals: 1 }} }}",
        window("peak", -60, 3600, "")
    );
    let p = TestProxy::start(&frozen_config(&s, &c, "{ weight: 5 }", &freeze));
    let body = r#"{"scope": {"routes": ["odoo"]}, "ttl": "30m", "reason": "carrier API change", "ticket": "INC-42"}"#;
    for (token, want) in [(OPERATOR_TOKEN, 403), (FREEZE_A_TOKEN, 201)] {
        let r = call(&p, "POST", "/api/v1/break-glass", token, body);
        assert_eq!(r.status, want, "{}", r.text());
    }
    let list = call(&p, "GET", "/api/v1/freeze", VIEWER_TOKEN, "").json();
    let glass = &list["break_glass"][0];
    assert_eq!(glass["status"], "pending");
    let id = glass["id"].as_str().expect("id").to_owned();
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 10, "reason": "hotfix"}"#).status,
        423,
        "pending exempts nothing"
    );
    let approve = format!("/api/v1/break-glass/{id}/approve");
    let own = call(&p, "POST", &approve, FREEZE_A_TOKEN, "");
    assert_eq!(own.status, 403, "no self-approval: {}", own.text());
    let ok = call(&p, "POST", &approve, FREEZE_B_TOKEN, "");
    assert_eq!(
        (ok.status, ok.json()["status"].as_str()),
        (200, Some("active")),
        "{}",
        ok.text()
    );
    assert_eq!(
        call(&p, "POST", &approve, FREEZE_B_TOKEN, "").status,
        409,
        "already active"
    );
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 10, "reason": "hotfix"}"#).status,
        200
    );
    assert_eq!(
        call(
            &p,
            "DELETE",
            &format!("/api/v1/break-glass/{id}"),
            FREEZE_B_TOKEN,
            ""
        )
        .status,
        200
    );
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 20, "reason": "more"}"#).status,
        423,
        "revoked"
    );
    assert_eq!(
        call(&p, "POST", &approve, FREEZE_B_TOKEN, "").status,
        409,
        "revoked"
    );
    assert_eq!(
        call(
            &p,
            "POST",
            "/api/v1/break-glass/bg-nope/approve",
            FREEZE_B_TOKEN,
            ""
        )
        .status,
        404
    );
    let too_long = call(
        &p,
        "POST",
        "/api/v1/break-glass",
        FREEZE_A_TOKEN,
        &body.replace("30m", "2h"),
    );
    assert_eq!(
        (too_long.status, too_long.json()["field"].as_str()),
        (400, Some("ttl"))
    );
    let no_ticket = call(
        &p,
        "POST",
        "/api/v1/break-glass",
        FREEZE_A_TOKEN,
        r#"{"ttl": "5m", "reason": "x"}"#,
    );
    assert_eq!(
        (no_ticket.status, no_ticket.json()["field"].as_str()),
        (400, Some("ticket"))
    );

    let audit = call(&p, "GET", "/api/v1/audit?limit=1000", VIEWER_TOKEN, "").json();
    let entries = audit["entries"].as_array().expect("entries");
    let set = entries
        .iter()
        .find(|e| e["action"] == "canary.set")
        .expect("the change made under break-glass");
    assert_eq!(set["break_glass"], id.as_str());
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "break-glass.request",
        "break-glass.approve",
        "break-glass.revoke",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let log = p.dir.path().join("data/audit.log");
    assert!(switchyard::audit::verify(&log).is_ok());
    let text = std::fs::read_to_string(&log).expect("audit log");
    std::fs::write(
        &log,
        text.replacen("carrier API change", "carrier API chang3", 1),
    )
    .expect("tamper");
    assert!(
        switchyard::audit::verify(&log).is_err_and(|e| e.contains("edited")),
        "tampering is detected"
    );
}

#[test]
fn a_held_reload_applies_by_itself_when_the_window_ends() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let base = frozen_config(&s, &c, "{ weight: 5 }", "{}");
    let p = TestProxy::start(&base);
    let stop = call(
        &p,
        "POST",
        "/api/v1/freeze",
        FREEZE_A_TOKEN,
        r#"{"reason": "incident 77", "until": "3s", "scope": {"routes": ["odoo"]}}"#,
    );
    assert_eq!(stop.status, 201, "{}", stop.text());

    // A reload that only reduces risk passes during the freeze…
    p.write_config(&base.replace("{ weight: 5 }", "{ weight: 2 }"));
    assert!(eventually(Duration::from_secs(5), || (p.version() == 2).then_some(())).is_some());
    // …one that raises a weight is held whole: the last good config keeps serving.
    p.write_config(&base.replace("{ weight: 5 }", "{ weight: 50 }"));
    let st = eventually(Duration::from_secs(5), || {
        let st = p.status(VIEWER_TOKEN);
        (st["last_reload"]["result"] == "held").then_some(st)
    })
    .expect("held");
    assert_eq!(p.version(), 2);
    assert!(
        st["held_reload"]["changes"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("canary.weight")),
        "{st}"
    );
    assert!(p
        .metrics()
        .contains("switchyard_config_reloads_total{result=\"held\"} 1"));
    let applied = eventually(Duration::from_secs(8), || (p.version() == 3).then_some(()));
    assert!(
        applied.is_some(),
        "the held reload applies once the freeze ends"
    );
    let v = call(&p, "GET", "/api/v1/routes/odoo/canary", VIEWER_TOKEN, "").json();
    assert_eq!(v["weight"], 50.0);
    assert!(p.status(VIEWER_TOKEN)["held_reload"].is_null());
}

#[test]
fn blocked_requests_are_refused_under_every_path_spelling() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let freeze = format!(
        r#"{{ windows: [{}], block_requests: [{{ methods: [POST], path_regex: "^/web/dataset/call_kw/ir\\.module\\.module/button_(immediate_)?(install|upgrade|uninstall)" }}] }}"#,
        window("close", -60, 600, ", scope: { tenants: [acme] }")
    );
    let p = TestProxy::start(&frozen_config(&s, &c, "{ weight: 0 }", &freeze));
    let spellings = [
        "/web/dataset/call_kw/ir.module.module/button_immediate_install",
        "/web//dataset/./call_kw/ir.module.module/button_immediate_install",
        "/web/dataset/x/../call_kw/ir.module.module/button_upgrade",
        "/web/dataset/call_kw/ir%2Emodule%2emodule/button_uninstall",
        "/web/%64ataset/call_kw/ir.module.module/button_install",
    ];
    for path in spellings {
        let r = client::request(p.addr, "POST", "acme.erp.test", path, &[], b"{}");
        assert_eq!(r.status, 423, "{path}: {}", r.text());
        assert_eq!(r.json()["window"], "close");
        assert!(r.header("retry-after").is_some());
    }
    assert!(
        s.requests().is_empty() && c.requests().is_empty(),
        "nothing forwarded"
    );
    let other_tenant = client::request(p.addr, "POST", "globex.erp.test", spellings[0], &[], b"{}");
    assert_eq!(other_tenant.status, 200, "outside the window's scope");
    let read = client::request(
        p.addr,
        "GET",
        "acme.erp.test",
        "/web/dataset/call_kw/ir.module.module/button_immediate_install",
        &[],
        b"",
    );
    assert_eq!(read.status, 200, "GET is not the blocked method");
    assert!(p
        .metrics()
        .contains(r#"switchyard_freeze_refusals_total{kind="request"} 5"#));
}

#[test]
fn manual_freezes_and_their_bad_input() {
    common::env();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&frozen_config(&s, &c, "{ weight: 5 }", "{}"));
    let cases = [
        (r#"{"until": "1h"}"#, "reason"),
        (
            r#"{"reason": "x", "until": "2001-01-01T00:00:00Z"}"#,
            "until",
        ),
        (r#"{"reason": "x", "until": "soon"}"#, "until"),
        (
            r#"{"reason": "x", "until": "1h", "scope": {"tenants": [""]}}"#,
            "scope",
        ),
        (
            r#"{"reason": "x", "until": "1h", "scope": {"tenant": ["acme"]}}"#,
            "scope",
        ),
    ];
    for (body, field) in cases {
        let r = call(&p, "POST", "/api/v1/freeze", FREEZE_A_TOKEN, body);
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    assert_eq!(
        call(
            &p,
            "POST",
            "/api/v1/freeze",
            OPERATOR_TOKEN,
            r#"{"reason": "x", "until": "1h"}"#
        )
        .status,
        403
    );
    let made = call(
        &p,
        "POST",
        "/api/v1/freeze",
        FREEZE_A_TOKEN,
        r#"{"reason": "stop the line", "until": "1h"}"#,
    );
    assert_eq!(made.status, 201);
    let id = made.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 6, "reason": "x"}"#).status,
        423
    );
    let view: Value = call(&p, "GET", "/api/v1/freeze", VIEWER_TOKEN, "").json();
    assert_eq!(view["active"][0]["window"], id.as_str());
    let lift = || {
        call(
            &p,
            "DELETE",
            &format!("/api/v1/freeze/{id}"),
            FREEZE_B_TOKEN,
            "",
        )
        .status
    };
    assert_eq!(lift(), 200);
    assert_eq!(lift(), 404, "already lifted");
    assert_eq!(
        set_weight(&p, "odoo", r#"{"weight": 6, "reason": "x"}"#).status,
        200,
        "lifted"
    );
}
