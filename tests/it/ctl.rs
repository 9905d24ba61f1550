//! `switchyard ctl` end to end: the real binary against an in-process proxy with a canary
//! route. Changes made through `ctl` show in `ctl canary show`, `ctl status` and `ctl audit`;
//! every refusal (bad weight, wrong or missing token, unknown route, nothing listening) exits
//! 1 with the server's problem or a message naming the URL, and changes nothing. The freeze
//! commands drive a manual freeze and the four-eyes break-glass through to the audit log, and
//! `ctl status` shows the freeze in force and a reload it holds.

use crate::common::{
    self, ADMIN_TOKEN, FREEZE_A_TOKEN, FREEZE_B_TOKEN, OPERATOR_TOKEN, VIEWER_TOKEN,
};
use crate::freeze::window;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;
use switchyard_test_support::{binary, dead_addr, eventually};

/// Route `odoo` split between `odoo-stable` and `odoo-canary` at 5 %, ramp 10 → 50 hourly.
/// Route `odoo` at 5 % with a ramp 10 → 50 (the canary tests' config).
fn config(stable: &RecordingUpstream, canary: &RecordingUpstream) -> String {
    crate::canary::config(
        stable,
        canary,
        "{ weight: 5, ramp: { steps: [10, 50], every: 1h } }",
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
        json_status["routes"][1]["canary"]["weight"].as_f64(),
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

fn freeze_rig(freeze: &str) -> Rig {
    common::env();
    let (stable, canary) = (RecordingUpstream::start(), RecordingUpstream::start());
    let proxy = TestProxy::start(&crate::freeze::frozen_config(
        &stable,
        &canary,
        "{ weight: 5, ramp: { steps: [10, 50], every: 1h } }",
        freeze,
    ));
    Rig {
        _stable: stable,
        _canary: canary,
        proxy,
    }
}

/// The value of a `key value` line.
fn field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key).filter(|r| r.starts_with(' ')))
        .map(|r| r.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{out}"))
}

/// Runs a command that must fail (exit 1, nothing on stdout) and returns its stderr.
fn refused(p: &TestProxy, token: &str, args: &[&str]) -> String {
    let out = ctl(p, Some(token), args);
    assert_eq!(
        out.code,
        Some(1),
        "ctl {args:?}: stdout {} stderr {}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    out.stderr
}

fn has_all(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
}

#[test]
fn ctl_freezes_and_breaks_glass_with_four_eyes() {
    let freeze = format!(
        r#"{{ windows: [{}], block_requests: [{{ methods: [POST], path_regex: "^/web/dataset/call_kw/ir\\.module\\.module/button_" }}], break_glass: {{ max_ttl: 1h, approvals: 1 }} }}"#,
        window(
            "year-end",
            86_400,
            2 * 86_400,
            ", scope: { tenants: [acme] }"
        )
    );
    let r = freeze_rig(&freeze);
    let p = &r.proxy;
    let set = ["canary", "set", "odoo", "50", "--reason", "y"];

    let started = ok(
        p,
        FREEZE_A_TOKEN,
        &[
            "freeze", "start", "--reason", "x", "--until", "1h", "--route", "odoo",
        ],
    );
    let id = field(&started, "id");
    assert!(id.starts_with("freeze-"), "{started}");
    has_all(&started, &["routes=odoo", "alice"]);

    let err = refused(p, OPERATOR_TOKEN, &set);
    has_all(&err, &["423", "Change frozen", &id]);

    let st = ok(p, VIEWER_TOKEN, &["freeze", "status"]);
    let manual = st
        .lines()
        .find(|l| l.starts_with(&id) && l.contains("alice"))
        .unwrap_or_else(|| panic!("no manual freeze line in:\n{st}"));
    has_all(manual, &["routes=odoo", " x"]);
    let active = st.split("upcoming windows").next().unwrap_or_default();
    has_all(active, &["active windows\nWINDOW", &id]);
    has_all(
        &st,
        &[
            "upcoming windows\nWINDOW",
            "year-end",
            "POST     ^/web/dataset/call_kw",
            "break-glass: none",
            "max ttl 1h",
            "held reload: none",
        ],
    );

    let requested = ok(
        p,
        FREEZE_A_TOKEN,
        &[
            "break-glass",
            "request",
            "--ttl",
            "30m",
            "--reason",
            "carrier cut-off fix",
            "--ticket",
            "INC-1",
            "--route",
            "odoo",
        ],
    );
    let bg = field(&requested, "id");
    assert!(bg.starts_with("bg-"), "{requested}");
    assert_eq!(field(&requested, "status"), "pending", "{requested}");
    has_all(&requested, &["INC-1", "alice"]);
    refused(p, OPERATOR_TOKEN, &set);

    let own = refused(p, FREEZE_A_TOKEN, &["break-glass", "approve", &bg]);
    has_all(&own, &["403", "four eyes"]);
    let approved = ok(p, FREEZE_B_TOKEN, &["break-glass", "approve", &bg]);
    assert_eq!(field(&approved, "status"), "active", "{approved}");
    assert!(
        field(&approved, "approved").starts_with("bob at "),
        "{approved}"
    );
    let st = ok(p, VIEWER_TOKEN, &["freeze", "status"]);
    let row = st
        .lines()
        .find(|l| l.starts_with(&bg))
        .unwrap_or_else(|| panic!("no break-glass line in:\n{st}"));
    has_all(row, &["active", "routes=odoo", "alice", "bob", "INC-1"]);

    let done = ok(p, OPERATOR_TOKEN, &set);
    assert!(done.contains("50% (override; config 5%)"), "{done}");

    let revoked = ok(p, FREEZE_B_TOKEN, &["break-glass", "revoke", &bg]);
    assert_eq!(field(&revoked, "status"), "revoked", "{revoked}");
    assert_eq!(field(&revoked, "revoked"), "bob", "{revoked}");
    let again = refused(p, FREEZE_B_TOKEN, &["break-glass", "revoke", &bg]);
    has_all(&again, &["409", "revoked"]);

    let lifted = ok(
        p,
        FREEZE_B_TOKEN,
        &["freeze", "stop", &id, "--reason", "incident over"],
    );
    assert_eq!(lifted.trim(), format!("lifted {id}"));
    let gone = refused(p, FREEZE_B_TOKEN, &["freeze", "stop", &id]);
    has_all(&gone, &["404", &id]);

    let v = ctl(p, Some(VIEWER_TOKEN), &["--json", "freeze", "status"]).json();
    assert_eq!(v["manual"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(v["break_glass"][0]["id"], bg.as_str(), "{v}");
    assert_eq!(v["break_glass"][0]["status"], "revoked", "{v}");
    assert_eq!(v["upcoming"][0]["window"], "year-end", "{v}");
    assert!(v["held_reload"].is_null(), "{v}");

    let bad = refused(
        p,
        FREEZE_A_TOKEN,
        &["freeze", "start", "--reason", "x", "--until", "soon"],
    );
    has_all(&bad, &["400", "field: until", "\"soon\""]);
    let long = refused(
        p,
        FREEZE_A_TOKEN,
        &[
            "break-glass",
            "request",
            "--ttl",
            "2h",
            "--reason",
            "r",
            "--ticket",
            "T",
        ],
    );
    has_all(&long, &["400", "field: ttl", "max_ttl"]);
    let viewer = refused(
        p,
        VIEWER_TOKEN,
        &["freeze", "start", "--reason", "x", "--until", "1h"],
    );
    has_all(&viewer, &["403", "FreezeAdmin"]);

    // The audit log names who did what, and the break-glass the change was made under.
    let audit = ctl(
        p,
        Some(VIEWER_TOKEN),
        &["--json", "audit", "--limit", "1000"],
    )
    .json();
    let entries = audit["entries"].as_array().expect("entries");
    let under = entries
        .iter()
        .find(|e| e["action"] == "canary.set")
        .unwrap_or_else(|| panic!("no canary.set in {audit}"));
    assert_eq!(under["break_glass"], bg.as_str(), "{under}");
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .filter_map(|e| Some((e["action"].as_str()?, e["actor"].as_str()?)))
        .collect();
    for want in [
        ("freeze.start", "alice"),
        ("break-glass.request", "alice"),
        ("break-glass.approve", "bob"),
        ("break-glass.revoke", "bob"),
        ("freeze.stop", "bob"),
    ] {
        assert!(actions.contains(&want), "{want:?} in {actions:?}");
    }
    let table = ok(p, VIEWER_TOKEN, &["audit", "--limit", "1000"]);
    let line = table
        .lines()
        .find(|l| l.contains("canary.set"))
        .unwrap_or_else(|| panic!("no canary.set line in:\n{table}"));
    has_all(line, &["deploy-bot", &bg]);
    let stop = entries
        .iter()
        .find(|e| e["action"] == "freeze.stop")
        .expect("freeze.stop");
    assert_eq!(stop["reason"], "incident over");
}

#[test]
fn ctl_status_shows_the_freeze_and_the_reload_it_holds() {
    let r = freeze_rig("{}");
    let p = &r.proxy;
    let started = ok(
        p,
        FREEZE_A_TOKEN,
        &["freeze", "start", "--reason", "peak", "--until", "1h"],
    );
    let id = field(&started, "id");
    assert_eq!(field(&started, "scope"), "all", "{started}");

    let before = std::fs::read_to_string(&p.config_path).expect("config");
    p.write_config(&before.replace("weight: 5,", "weight: 50,"));
    // The file watch sees it first and holds it; an explicit reload is held too.
    let watched = eventually(Duration::from_secs(5), || {
        let st = p.status(VIEWER_TOKEN);
        (st["last_reload"]["trigger"] == "file-watch").then_some(st)
    })
    .expect("the file watch reloads");
    assert_eq!(watched["last_reload"]["result"], "held", "{watched}");
    let reload = ok(p, ADMIN_TOKEN, &["reload"]);
    assert!(
        reload.starts_with("reload held by a freeze: version 1"),
        "{reload}"
    );

    let st = ok(p, VIEWER_TOKEN, &["status"]);
    let freeze = field(&st, "freeze");
    assert!(freeze.starts_with(&format!("window {id} until ")), "{st}");
    let held = field(&st, "held");
    has_all(&held, &["reload of config sha256", &format!("window {id}")]);
    has_all(&st, &["routes.odoo.canary.weight 5 → 50"]);

    let fs = ok(p, VIEWER_TOKEN, &["freeze", "status"]);
    has_all(
        &fs,
        &[
            "held reload: config sha256",
            &format!("frozen by window {id}"),
            "\n  routes.odoo.canary.weight 5 → 50",
        ],
    );

    // Lifted, the next reload applies: nothing is held any more.
    ok(p, FREEZE_B_TOKEN, &["freeze", "stop", &id]);
    let reload = ok(p, ADMIN_TOKEN, &["reload"]);
    assert!(
        reload.starts_with("reload applied: version 2")
            || reload.starts_with("reload unchanged: version 2"),
        "{reload}"
    );
    let st = ok(p, VIEWER_TOKEN, &["status"]);
    assert!(!st.lines().any(|l| l.starts_with("held ")), "{st}");
    assert!(!st.lines().any(|l| l.starts_with("freeze ")), "{st}");
    assert_eq!(show(p)["weight"].as_f64(), Some(50.0));
}

/// Partner dhl in queue mode (no rate) whose upstream at `at` is down: every webhook is
/// spooled and answered 202 (the webhook tests' config).
fn spool_rig(at: std::net::SocketAddr) -> TestProxy {
    common::env();
    TestProxy::start(&crate::webhooks::config(
        &format!("http://{at}"),
        "    on_limit: queue",
        r#"{ backend: local, data_dir: "${DATA_DIR}" }"#,
    ))
}

/// Sends `n` signed webhooks `{prefix}0..` that must be spooled (202).
fn spool_webhooks(p: &TestProxy, prefix: &str, n: usize) {
    for i in 0..n {
        let r = crate::webhooks::post(
            p.addr,
            "/hooks/dhl/events",
            &format!("{prefix}{i}"),
            0,
            &format!("{{\"n\":{i}}}"),
            crate::webhooks::SECRET,
        );
        assert_eq!(r.status, 202, "{}", r.text());
    }
}

/// The row of `partner` in a table.
fn row<'a>(table: &'a str, partner: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(partner))
        .unwrap_or_else(|| panic!("no {partner} row in:\n{table}"))
        .split_whitespace()
        .collect()
}

/// dhl's queue as `ctl --json spool ls` prints it.
fn dhl_queue(p: &TestProxy) -> Value {
    let v = ctl(p, Some(VIEWER_TOKEN), &["--json", "spool", "ls"]).json();
    v["partners"]
        .as_array()
        .and_then(|a| a.iter().find(|q| q["partner"] == "dhl").cloned())
        .unwrap_or_else(|| panic!("no dhl in {v}"))
}

#[test]
fn ctl_spool_shows_pauses_and_resumes_a_partners_queue() {
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], switchyard_test_support::free_port()));
    let p = spool_rig(at);
    spool_webhooks(&p, "c", 3);

    let ls = ok(&p, VIEWER_TOKEN, &["spool", "ls"]);
    assert_eq!(
        row(&ls, "PARTNER"),
        ["PARTNER", "DEPTH", "OLDEST", "DEAD", "BYTES", "FAILED", "ATTEMPTS", "PAUSED"],
        "{ls}"
    );
    assert!(
        ls.lines()
            .any(|l| l.starts_with("spool: ") && l.contains(" used of 2.0 GiB (")),
        "{ls}"
    );
    let dhl = row(&ls, "dhl");
    assert_eq!((dhl[1], dhl[dhl.len() - 1]), ("3", "no"), "{ls}");
    assert_ne!(dhl[2], "-", "the oldest age is shown: {ls}");
    let v = ctl(&p, Some(VIEWER_TOKEN), &["spool", "ls", "--json"]).json();
    assert!(v["used_bytes"].as_u64().is_some_and(|b| b > 0), "{v}");
    assert_eq!(v["max_bytes"].as_u64(), Some(2 << 30), "{v}");
    assert_eq!(dhl_queue(&p)["depth"], 3);

    let paused = ok(&p, OPERATOR_TOKEN, &["spool", "pause", "dhl"]);
    assert!(paused.starts_with("paused deliveries to dhl\n"), "{paused}");
    has_all(&paused, &["depth 3", "paused yes"]);
    let ls = ok(&p, VIEWER_TOKEN, &["spool", "ls"]);
    assert_eq!(row(&ls, "dhl").last().copied(), Some("yes"), "{ls}");

    let partners = ok(&p, VIEWER_TOKEN, &["partners"]);
    has_all(
        &partners,
        &["PARTNER  PATH", "VERIFY", "ON LIMIT", "QUEUED", "DEAD"],
    );
    let dhl = row(&partners, "dhl");
    assert_eq!(
        &dhl[..5],
        ["dhl", "/hooks/dhl/", "standard_webhooks", "-", "queue"],
        "{partners}"
    );
    assert_eq!(
        &dhl[dhl.len() - 2..],
        ["3", "0"],
        "queued, dead: {partners}"
    );
    let v = ctl(&p, Some(VIEWER_TOKEN), &["--json", "partners"]).json();
    assert_eq!(
        (
            v["partners"][0]["partner"].as_str(),
            v["partners"][0]["queued"].as_u64()
        ),
        (Some("dhl"), Some(3)),
        "{v}"
    );

    // The upstream comes back while paused: nothing is delivered until resumed.
    let up = RecordingUpstream::on(
        at,
        switchyard_test_support::upstream::Behavior::Respond(200, "ok".into()),
    );
    std::thread::sleep(Duration::from_millis(400));
    assert!(up.requests().is_empty(), "delivered while paused");
    let resumed = ok(&p, OPERATOR_TOKEN, &["spool", "resume", "dhl"]);
    has_all(&resumed, &["resumed deliveries to dhl", "paused no"]);
    let drained = eventually(Duration::from_secs(10), || {
        (dhl_queue(&p)["depth"] == 0).then_some(())
    });
    assert!(drained.is_some(), "{}", dhl_queue(&p));
    assert_eq!(up.requests().len(), 3);
    let ls = ok(&p, VIEWER_TOKEN, &["spool", "ls"]);
    let dhl = row(&ls, "dhl");
    assert_eq!((dhl[1], dhl[2]), ("0", "-"), "{ls}");

    let audit = ctl(&p, Some(VIEWER_TOKEN), &["--json", "audit"]).json();
    let actions: Vec<(&str, &str, &str)> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| {
            Some((
                e["action"].as_str()?,
                e["actor"].as_str()?,
                e["target"].as_str()?,
            ))
        })
        .collect();
    for want in [
        ("spool.pause", "deploy-bot", "spool/dhl"),
        ("spool.resume", "deploy-bot", "spool/dhl"),
    ] {
        assert!(actions.contains(&want), "{want:?} in {actions:?}");
    }
}

#[test]
fn ctl_spool_lists_replays_and_purges_dead_letters() {
    use switchyard_test_support::upstream::Behavior;
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], switchyard_test_support::free_port()));
    let p = spool_rig(at);
    spool_webhooks(&p, "d", 3);
    // Odoo refuses them (422): each is dead-lettered at its first delivery.
    let _up = RecordingUpstream::on(at, Behavior::Respond(422, "no such picking".into()));
    let dead = eventually(Duration::from_secs(10), || {
        let q = dhl_queue(&p);
        (q["dead"] == 3 && q["depth"] == 0).then_some(())
    });
    assert!(dead.is_some(), "{}", dhl_queue(&p));

    let list = ok(&p, VIEWER_TOKEN, &["spool", "dead", "dhl"]);
    has_all(
        &list,
        &["SEQ  ID", "RECEIVED", "ATTEMPTS", "PATH", "REASON"],
    );
    let rows: Vec<&str> = list.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{list}");
    for (i, r) in rows.iter().enumerate() {
        has_all(
            r,
            &[
                &format!("d{i}"),
                "/hooks/dhl/events",
                "upstream answered 422",
            ],
        );
    }
    let one = ctl(
        &p,
        Some(VIEWER_TOKEN),
        &["--json", "spool", "dead", "dhl", "--limit", "1"],
    )
    .json();
    let dead = one["dead"].as_array().expect("dead");
    assert_eq!(dead.len(), 1, "{one}");
    assert_eq!(dead[0]["reason"], "upstream answered 422", "{one}");
    assert!(
        dead[0]["id"].as_str().is_some_and(|id| id.ends_with("d0")),
        "{one}"
    );

    // Paused, a replay puts them back in the queue, where they stay.
    ok(&p, OPERATOR_TOKEN, &["spool", "pause", "dhl"]);
    let replayed = ok(&p, OPERATOR_TOKEN, &["spool", "replay", "dhl"]);
    has_all(
        &replayed,
        &[
            "replayed 3 dead letters of dhl into its queue",
            "depth 3",
            "dead 0",
        ],
    );
    let q = dhl_queue(&p);
    assert_eq!(
        (q["depth"].as_u64(), q["dead"].as_u64()),
        (Some(3), Some(0)),
        "{q}"
    );
    let none = ok(&p, VIEWER_TOKEN, &["spool", "dead", "dhl"]);
    assert_eq!(none.trim(), "no dead letters for dhl");

    // Resumed, Odoo refuses them again; purged, they are gone for good.
    ok(&p, OPERATOR_TOKEN, &["spool", "resume", "dhl"]);
    let dead = eventually(Duration::from_secs(10), || {
        (dhl_queue(&p)["dead"] == 3).then_some(())
    });
    assert!(dead.is_some(), "{}", dhl_queue(&p));
    let purged = ok(&p, OPERATOR_TOKEN, &["spool", "purge", "dhl"]);
    has_all(
        &purged,
        &["purged 3 dead letters of dhl", "depth 0", "dead 0"],
    );
    let q = dhl_queue(&p);
    assert_eq!(
        (q["depth"].as_u64(), q["dead"].as_u64()),
        (Some(0), Some(0)),
        "{q}"
    );
    let again = ok(&p, OPERATOR_TOKEN, &["spool", "purge", "dhl"]);
    assert!(again.starts_with("purged 0 dead letters of dhl"), "{again}");

    let audit = ok(&p, VIEWER_TOKEN, &["audit"]);
    for action in ["spool.replay", "spool.purge"] {
        let line = audit
            .lines()
            .find(|l| l.contains(action))
            .unwrap_or_else(|| panic!("no {action} in:\n{audit}"));
        has_all(line, &["deploy-bot", "spool/dhl"]);
    }
}

#[test]
fn ctl_spool_refusals_exit_1_with_the_reason() {
    let at = std::net::SocketAddr::from(([127, 0, 0, 1], switchyard_test_support::free_port()));
    let p = spool_rig(at);
    spool_webhooks(&p, "r", 1);
    for args in [
        &["spool", "pause", "ups"][..],
        &["spool", "resume", "ups"],
        &["spool", "replay", "ups"],
        &["spool", "purge", "ups"],
        &["spool", "dead", "ups"],
    ] {
        let err = refused(&p, OPERATOR_TOKEN, args);
        has_all(&err, &["404", "Unknown partner", "\"ups\"", "request id: "]);
    }
    let viewer = refused(&p, VIEWER_TOKEN, &["spool", "pause", "dhl"]);
    has_all(&viewer, &["403", "Operator"]);
    let viewer = refused(&p, VIEWER_TOKEN, &["spool", "purge", "dhl"]);
    has_all(&viewer, &["403", "Operator"]);
    let nobody = refused(&p, "not-a-token", &["partners"]);
    has_all(&nobody, &["401"]);
    // Nothing changed: still queued, not paused, nothing audited.
    let q = dhl_queue(&p);
    assert_eq!(
        (q["depth"].as_u64(), q["paused"].as_bool()),
        (Some(1), Some(false)),
        "{q}"
    );
    let audit = ok(&p, VIEWER_TOKEN, &["audit"]);
    assert!(!audit.contains("spool."), "{audit}");
    // A partner name is required before anything is sent.
    let out = ctl(&p, Some(OPERATOR_TOKEN), &["spool", "pause"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("<PARTNER>"), "{}", out.stderr);
}

/// A proxy whose route `odoo` runs policy `maint` (tenant-maintenance, holding no tenant).
fn policy_rig(up: &RecordingUpstream) -> TestProxy {
    common::env();
    let module = crate::conformance::module("tenant-maintenance");
    TestProxy::start(&format!(
        r#"
server: {{ listen: 127.0.0.1:0, workers: 1 }}
admin:
  listen: 127.0.0.1:0
  tokens:
    - {{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}
    - {{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}
    - {{ name: alice, role: freeze-admin, token: {{ env: SY_TEST_FREEZE_A }} }}
state: {{ backend: local, data_dir: "${{DATA_DIR}}" }}
pools:
  odoo: {{ endpoints: [{}] }}
tenants:
  identify: [{{ host: "{{tenant}}.erp.test" }}]
  list: {{ acme: {{}} }}
policies:
  maint:
    module: "{}"
    config: {{ tenants: [] }}
    tests: [{{ request: {{ path: /web, headers: {{ Host: acme.erp.test }} }}, expect: {{ pool: none }} }}]
routes:
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo }}
    policies: [maint]
observability: {{ access_log: {{ to: "off" }} }}
"#,
        up.url(),
        module.display()
    ))
}

#[test]
fn ctl_policy_push_swaps_modules_and_reports_refusals() {
    let up = RecordingUpstream::start();
    let p = policy_rig(&up);
    let module = crate::conformance::module("tenant-maintenance");
    let file = module.display().to_string();
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(std::fs::read(&module).expect("module"));
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };

    // The same module again: live, sha256 before → after, audited.
    let pushed = ok(&p, OPERATOR_TOKEN, &["policy", "push", "maint", &file]);
    has_all(&pushed, &["maint", "enforce", &format!("{sha} → {sha}")]);
    assert_eq!(field(&pushed, "policy"), "maint");
    let json = ctl(
        &p,
        Some(OPERATOR_TOKEN),
        &["--json", "policy", "push", "maint", &file, "--shadow"],
    );
    assert_eq!(json.code, Some(0), "{}", json.stderr);
    let v = json.json();
    assert_eq!(
        (
            v["mode"].as_str(),
            v["sha256"].as_str(),
            v["previous"].as_str()
        ),
        (Some("shadow"), Some(sha.as_str()), Some(sha.as_str())),
        "{v}"
    );
    let r = switchyard_test_support::client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!(r.status, 200, "requests still pass the policy");
    let audit = ok(&p, VIEWER_TOKEN, &["audit"]);
    has_all(
        &audit,
        &[
            "policy.push",
            "policy.shadow",
            "policies.maint",
            "deploy-bot",
        ],
    );

    // A file that is not a module: 422 naming the config path, nothing swapped.
    let dir = tempfile::tempdir().expect("dir");
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm not really").expect("write");
    let err = refused(
        &p,
        OPERATOR_TOKEN,
        &["policy", "push", "maint", &garbage.display().to_string()],
    );
    has_all(
        &err,
        &[
            "422",
            "Module refused",
            "path: policies.maint.module",
            "request id: ",
        ],
    );
    // A module that fails the policy's declared test (it answers 503): 422 at the test.
    let deny = dir.path().join("deny.wasm");
    let wat = r#"(module (import "http_handler" "set_status_code" (func $s (param i32)))
        (memory (export "memory") 1)
        (func (export "handle_request") (result i64) (call $s (i32.const 503)) (i64.const 0))
        (func (export "handle_response") (param i32 i32)))"#;
    std::fs::write(&deny, wat::parse_str(wat).expect("wat")).expect("write");
    let err = refused(
        &p,
        OPERATOR_TOKEN,
        &["policy", "push", "maint", &deny.display().to_string()],
    );
    has_all(
        &err,
        &["422", "path: policies.maint.tests[0]", "answered 503"],
    );

    // Unknown policy: 404. Missing file: nothing sent. Viewer: 403.
    let err = refused(&p, OPERATOR_TOKEN, &["policy", "push", "nope", &file]);
    has_all(&err, &["404", "Unknown policy", "\"nope\""]);
    let err = refused(
        &p,
        OPERATOR_TOKEN,
        &["policy", "push", "maint", "/nonexistent.wasm"],
    );
    has_all(&err, &["cannot read /nonexistent.wasm"]);
    let err = refused(&p, VIEWER_TOKEN, &["policy", "push", "maint", &file]);
    has_all(&err, &["403", "Operator"]);

    // A freeze over the route refuses module changes: 423.
    ok(
        &p,
        FREEZE_A_TOKEN,
        &[
            "freeze", "start", "--reason", "x", "--until", "1h", "--route", "odoo",
        ],
    );
    // A new module is refused while frozen; pushing back the config's own module (a rollback
    // to what Git says) passes.
    let other = dir.path().join("other.wasm");
    let pass = r#"(module (memory (export "memory") 1)
        (func (export "handle_request") (result i64) (i64.const 1))
        (func (export "handle_response") (param i32 i32)))"#;
    std::fs::write(&other, wat::parse_str(pass).expect("wat")).expect("write");
    let err = refused(
        &p,
        OPERATOR_TOKEN,
        &["policy", "push", "maint", &other.display().to_string()],
    );
    has_all(&err, &["423", "Change frozen"]);
    ok(&p, OPERATOR_TOKEN, &["policy", "push", "maint", &file]);
    let audit = ok(&p, VIEWER_TOKEN, &["audit"]);
    assert_eq!(
        audit.matches("policy.push").count(),
        2,
        "refused pushes are not audited as pushes:\n{audit}"
    );
    assert_eq!(up.requests().len(), 1);
}
