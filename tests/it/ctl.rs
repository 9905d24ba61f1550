//! `switchyard ctl` end to end: the real binary against an in-process proxy with a canary
//! route. Changes made through `ctl` show in `ctl canary show`, `ctl status` and `ctl audit`;
//! every refusal (bad weight, wrong or missing token, unknown route, nothing listening) exits
//! 1 with the server's problem or a message naming the URL, and changes nothing.

use crate::common::{self, ADMIN_TOKEN, OPERATOR_TOKEN, VIEWER_TOKEN};
use serde_json::Value;
use std::process::Command;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;
use switchyard_test_support::{binary, dead_addr};

/// Route `odoo` split between `odoo-stable` and `odoo-canary` at 5 %, ramp 10 → 50 hourly.
fn config(stable: &RecordingUpstream, canary: &RecordingUpstream) -> String {
    format!(
        r#"
server:
  listen: 127.0.0.1:0
  workers: 1
admin:
  listen: 127.0.0.1:0
  tokens:
    - {{ name: root, role: admin, token: {{ env: SY_TEST_ADMIN }} }}
    - {{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}
    - {{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}
state: {{ backend: local, data_dir: "${{DATA_DIR}}" }}
pools:
  odoo-stable: {{ endpoints: [{}] }}
  odoo-canary: {{ endpoints: [{}] }}
tenants:
  identify: [{{ host: "{{tenant}}.erp.test" }}]
  list: {{ acme: {{}}, globex: {{}} }}
routes:
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo-stable, canary: odoo-canary }}
    canary: {{ weight: 5, ramp: {{ steps: [10, 50], every: 1h }} }}
observability:
  access_log: {{ to: "off" }}
"#,
        stable.url(),
        canary.url()
    )
}

struct Rig {
    _stable: RecordingUpstream,
    _canary: RecordingUpstream,
    proxy: TestProxy,
}

fn rig() -> Rig {
    common::env();
    let (stable, canary) = (RecordingUpstream::start(), RecordingUpstream::start());
    let proxy = TestProxy::start(&config(&stable, &canary));
    Rig {
        _stable: stable,
        _canary: canary,
        proxy,
    }
}

/// What one `switchyard ctl` run printed.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `switchyard ctl ARGS` against `url` with `token` (None: no token at all).
fn ctl_at(url: &str, token: Option<&str>, args: &[&str]) -> Out {
    let mut cmd = Command::new(binary());
    cmd.arg("ctl")
        .args(args)
        .env("SWITCHYARD_ADMIN_URL", url)
        .env_remove("SWITCHYARD_TOKEN");
    if let Some(t) = token {
        cmd.env("SWITCHYARD_TOKEN", t);
    }
    let out = cmd.output().expect("run switchyard ctl");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ctl(p: &TestProxy, token: Option<&str>, args: &[&str]) -> Out {
    ctl_at(&format!("http://{}", p.admin), token, args)
}

/// Runs a command that must succeed and returns its stdout.
fn ok(p: &TestProxy, token: &str, args: &[&str]) -> String {
    let out = ctl(p, Some(token), args);
    assert_eq!(out.code, Some(0), "ctl {args:?}: {}", out.stderr);
    out.stdout
}

/// The route's canary as `ctl --json canary show odoo` prints it.
fn show(p: &TestProxy) -> Value {
    let out = ctl(p, Some(VIEWER_TOKEN), &["--json", "canary", "show", "odoo"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.json()
}

#[test]
fn ctl_drives_the_canary_and_reads_it_back() {
    let r = rig();
    let p = &r.proxy;
    let set = ok(
        p,
        OPERATOR_TOKEN,
        &["canary", "set", "odoo", "12.5", "--reason", "pilot"],
    );
    assert!(set.contains("12.5% (override; config 5%)"), "{set}");
    let v = show(p);
    assert_eq!(
        (v["weight"].as_f64(), v["source"].as_str()),
        (Some(12.5), Some("override"))
    );
    assert_eq!(
        (
            v["override"]["by"].as_str(),
            v["override"]["reason"].as_str()
        ),
        (Some("deploy-bot"), Some("pilot"))
    );

    let status = ok(p, VIEWER_TOKEN, &["status"]);
    let route = status
        .lines()
        .find(|l| l.starts_with("odoo "))
        .unwrap_or_else(|| panic!("no route line in:\n{status}"));
    for want in [
        "odoo-stable",
        "odoo-canary",
        "12.5%",
        "override",
        "deploy-bot",
        "pilot",
    ] {
        assert!(route.contains(want), "{want:?} missing from {route:?}");
    }
    assert!(status.contains("local backend"), "{status}");
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("odoo-canary ") && l.contains("healthy")),
        "{status}"
    );
    let json_status = ctl(p, Some(VIEWER_TOKEN), &["status", "--json"]).json();
    assert_eq!(
        json_status["routes"][0]["canary"]["weight"].as_f64(),
        Some(12.5)
    );

    ok(
        p,
        OPERATOR_TOKEN,
        &["canary", "rollback", "odoo", "--reason", "errors up"],
    );
    assert_eq!(show(p)["weight"].as_f64(), Some(0.0));

    let ramp = ok(
        p,
        OPERATOR_TOKEN,
        &["canary", "ramp", "odoo", "start", "--reason", "r"],
    );
    assert!(ramp.contains("running, step 1/2"), "{ramp}");
    let v = show(p);
    assert_eq!(v["weight"].as_f64(), Some(10.0));

    let reload = ok(p, ADMIN_TOKEN, &["reload"]);
    assert!(
        reload.starts_with("reload unchanged: version 1"),
        "{reload}"
    );

    let audit = ok(p, VIEWER_TOKEN, &["audit"]);
    let set_line = audit
        .lines()
        .find(|l| l.contains("canary.set"))
        .unwrap_or_else(|| panic!("no canary.set entry in:\n{audit}"));
    for want in ["deploy-bot", "routes.odoo.canary", "applied", "pilot"] {
        assert!(
            set_line.contains(want),
            "{want:?} missing from {set_line:?}"
        );
    }
    for action in ["canary.rollback", "canary.ramp.start"] {
        assert!(audit.contains(action), "{action} missing from:\n{audit}");
    }
    let page = ctl(
        p,
        Some(VIEWER_TOKEN),
        &["--json", "audit", "--since", "1", "--limit", "1"],
    )
    .json();
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["seq"].as_u64(), Some(2));
}

#[test]
fn ctl_refusals_exit_1_with_the_reason_and_change_nothing() {
    let r = rig();
    let p = &r.proxy;
    let set = |token: &str, route: &str, pct: &str| {
        ctl(
            p,
            Some(token),
            &["canary", "set", route, pct, "--reason", "x"],
        )
    };
    let cases: &[(Out, &[&str])] = &[
        (
            set(OPERATOR_TOKEN, "odoo", "150"),
            &["400", "weight", "outside 0..100"],
        ),
        (
            set(OPERATOR_TOKEN, "odoo", "12.345"),
            &["field: weight", "two decimals"],
        ),
        (
            set("not-a-token", "odoo", "20"),
            &["401", "the token is not valid"],
        ),
        (
            set(VIEWER_TOKEN, "odoo", "20"),
            &["403", "Forbidden", "Operator"],
        ),
        (set(OPERATOR_TOKEN, "nope", "20"), &["404", "nope"]),
        (
            ctl(p, Some(OPERATOR_TOKEN), &["canary", "show", "nope"]),
            &["404", "nope"],
        ),
        (
            ctl(p, None, &["status"]),
            &["no admin token", "SWITCHYARD_TOKEN"],
        ),
    ];
    for (out, wants) in cases {
        assert_eq!(
            out.code,
            Some(1),
            "stdout {} stderr {}",
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        for want in *wants {
            assert!(
                out.stderr.contains(want),
                "{want:?} missing from:\n{}",
                out.stderr
            );
        }
    }
    let v = show(p);
    assert_eq!(
        (v["weight"].as_f64(), v["source"].as_str()),
        (Some(5.0), Some("config"))
    );
    let audit = ok(p, VIEWER_TOKEN, &["audit"]);
    assert!(!audit.contains("canary.set"), "{audit}");

    // Nothing listening: one line naming the URL.
    let url = format!("http://{}", dead_addr());
    let out = ctl_at(&url, Some(VIEWER_TOKEN), &["status"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains(&format!("cannot reach the admin API at {url}")),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);

    // The reason is required before anything is sent.
    let out = ctl(p, Some(OPERATOR_TOKEN), &["canary", "rollback", "odoo"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--reason"), "{}", out.stderr);
}
