//! The admin API: open health/readiness/metrics, bearer tokens with roles, constant-time
//! comparison (behaviourally: wrong tokens of any length fail), foreign-Origin refusal,
//! problem+json everywhere, and an audit log whose chain `switchyard audit verify` checks.

use crate::common::{self, ADMIN_TOKEN, OPERATOR_TOKEN, VIEWER_TOKEN};
use switchyard_test_support::client;

#[test]
fn tokens_roles_and_origin() {
    let (_up, p) = common::proxy("");
    let a = p.admin;
    for open in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            client::admin(a, "GET", open, None, &[], b"").status,
            200,
            "{open}"
        );
    }
    let cases: &[(&str, &str, Option<&str>, u16)] = &[
        ("GET", "/api/v1/status", None, 401),
        ("GET", "/api/v1/status", Some("wrong"), 401),
        (
            "GET",
            "/api/v1/status",
            Some("viewer-token-0123456788"),
            401,
        ),
        ("GET", "/api/v1/status", Some(VIEWER_TOKEN), 200),
        ("POST", "/api/v1/reload", Some(VIEWER_TOKEN), 403),
        ("POST", "/api/v1/reload", Some(OPERATOR_TOKEN), 200),
        ("POST", "/api/v1/reload", Some(ADMIN_TOKEN), 200),
        ("GET", "/api/v1/reload", Some(ADMIN_TOKEN), 405),
        ("DELETE", "/api/v1/status", Some(ADMIN_TOKEN), 405),
        ("GET", "/api/v1/nope", Some(ADMIN_TOKEN), 404),
        ("GET", "/api/v1/audit?limit=x", Some(ADMIN_TOKEN), 400),
    ];
    for (method, path, token, want) in cases {
        let r = client::admin(a, method, path, *token, &[], b"");
        assert_eq!(r.status, *want, "{method} {path} {token:?}: {}", r.text());
        if *want >= 400 {
            assert_eq!(
                r.header("content-type"),
                Some("application/problem+json"),
                "{method} {path}"
            );
            assert!(r.json()["detail"].is_string());
        }
    }
    let r = client::admin(a, "GET", "/api/v1/status", None, &[], b"");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let foreign = client::admin(
        a,
        "POST",
        "/api/v1/reload",
        Some(ADMIN_TOKEN),
        &["Origin: http://evil.example"],
        b"",
    );
    assert_eq!(foreign.status, 403);
    assert_eq!(
        foreign.json()["type"],
        "urn:switchyard:problem:foreign-origin"
    );
    let same = client::admin(
        a,
        "POST",
        "/api/v1/reload",
        Some(ADMIN_TOKEN),
        &[&format!("Origin: http://{a}")],
        b"",
    );
    assert_eq!(same.status, 200, "{}", same.text());
}

#[test]
fn status_and_metrics_describe_the_proxy() {
    let (_up, p) = common::proxy("");
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/web", &[]).status,
        200
    );
    assert_eq!(
        client::get(p.addr, "zeta.erp.test", "/web", &[]).status,
        404
    );
    let s = p.status(VIEWER_TOKEN);
    assert_eq!(s["config"]["version"], 1);
    assert_eq!(s["config"]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(s["pools"][0]["name"], "odoo");
    assert_eq!(s["pools"][0]["endpoints"][0]["healthy"], true);
    assert_eq!(s["routes"][0]["stable"], "odoo");
    let m = p.metrics();
    for want in [
        "switchyard_requests_total{code_class=\"2xx\",decision=\"forward\",route=\"odoo\",tenant=\"acme\",variant=\"stable\"} 1",
        "switchyard_requests_total{code_class=\"4xx\",decision=\"reject\",route=\"\",tenant=\"\",variant=\"stable\"} 1",
        "switchyard_request_duration_seconds_bucket{route=\"odoo\",le=\"+Inf\"} 1",
        "switchyard_upstream_health{endpoint=",
        "switchyard_config_info{hash=",
    ] {
        assert!(m.contains(want), "missing {want} in\n{m}");
    }
}

#[test]
fn audit_log_is_chained_and_tampering_is_found() {
    let (up, p) = common::proxy("");
    for _ in 0..3 {
        assert_eq!(p.reload(OPERATOR_TOKEN).status, 200);
    }
    let entries = client::admin(
        p.admin,
        "GET",
        "/api/v1/audit?since=0&limit=10",
        Some(VIEWER_TOKEN),
        &[],
        b"",
    )
    .json()["entries"]
        .clone();
    let actions: Vec<String> = entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            format!(
                "{} by {}",
                e["action"].as_str().unwrap_or(""),
                e["actor"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        actions,
        ["proxy.start by system"],
        "unchanged reloads are not mutations"
    );
    // An applied reload is a mutation: audited with who, before and after.
    std::fs::write(
        &p.config_path,
        switchyard_test_support::proxy::fill(
            &common::config(&up, "  shutdown_grace: 3s"),
            p.dir.path(),
        ),
    )
    .expect("write");
    assert_eq!(p.reload(OPERATOR_TOKEN).status, 200);
    let e = &client::admin(
        p.admin,
        "GET",
        "/api/v1/audit?since=1",
        Some(VIEWER_TOKEN),
        &[],
        b"",
    )
    .json()["entries"];
    let applied = e
        .as_array()
        .expect("array")
        .iter()
        .find(|x| x["action"] == "config.reload" && x["result"] == "applied")
        .cloned()
        .expect("reload audited");
    assert!(
        applied["actor"] == "deploy-bot" || applied["actor"] == "file-watch",
        "{applied}"
    );
    assert_ne!(applied["before"], applied["after"]);

    let log = p.dir.path().join("data/audit.log");
    let bin = switchyard_test_support::binary();
    let verify = |f: &std::path::Path| {
        std::process::Command::new(&bin)
            .args(["audit", "verify"])
            .arg(f)
            .output()
            .expect("run")
    };
    assert!(
        verify(&log).status.success(),
        "{}",
        String::from_utf8_lossy(&verify(&log).stderr)
    );
    let text = std::fs::read_to_string(&log).expect("read");
    let tampered_dir = tempfile::tempdir().expect("tmp");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2);
    let cases = [
        (
            "edited",
            text.replacen("deploy-bot", "someone-else", 1).replacen(
                "file-watch",
                "someone-else",
                1,
            ),
        ),
        (
            "reordered",
            format!("{}\n{}\n{}", lines[1], lines[0], lines[2..].join("\n")),
        ),
        ("cut", lines[1..].join("\n") + "\n"),
    ];
    for (what, content) in cases {
        let f = tampered_dir.path().join(what);
        std::fs::write(&f, content).expect("write");
        let out = verify(&f);
        assert!(!out.status.success(), "{what} log passed verification");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("line "),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn status_exposes_the_audit_chain_head() {
    let (_up, p) = common::proxy("");
    let s = p.status(VIEWER_TOKEN);
    let log = p.dir.path().join("data/audit.log");
    let last = std::fs::read_to_string(&log)
        .expect("log")
        .lines()
        .last()
        .map(str::to_owned)
        .expect("an entry");
    let last: serde_json::Value = serde_json::from_str(&last).expect("json");
    assert_eq!(s["audit"]["head"], last["hash"]);
    assert_eq!(s["audit"]["entries"], last["seq"]);
}
