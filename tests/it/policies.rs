//! WASM policies in switchyard: the conformance table's switchyard half (the same modules and
//! cases the Traefik half runs), hostile modules refused at load or contained at run time
//! (WAT fixtures), a policy that picks another tenant's pool, and live swaps through the admin
//! API under load — enforce and shadow — with zero failed requests.

use crate::common;
use crate::conformance::{cases, check, module, recorded, send, Case, Observed};
use std::collections::BTreeMap;
use std::time::Duration;
use switchyard_test_support::client;
use switchyard_test_support::eventually;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;

const POOLS: [&str; 4] = [
    "integration-workers",
    "billing-workers",
    "edi-workers",
    "admin-workers",
];

/// A proxy whose route `odoo` runs `policies` (YAML entries under `policies:`), with the shared
/// pool `odoo` and the worker pools of the conformance table.
fn config(
    ups: &BTreeMap<&str, RecordingUpstream>,
    policies: &str,
    route_policies: &str,
    extra: &str,
) -> String {
    let pools: String = ups
        .iter()
        .map(|(n, u)| format!("  {n}: {{ endpoints: [{}] }}\n", u.url()))
        .collect();
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, workers: 1 }}
admin:
  listen: 127.0.0.1:0
  tokens: [{{ name: deploy-bot, role: operator, token: {{ env: SY_TEST_OPERATOR }} }}]
state: {{ backend: local, data_dir: "${{DATA_DIR}}" }}
pools:
{pools}{extra}
tenants:
  identify: [{{ host: "{{tenant}}.erp.test" }}]
  list: {{ acme: {{}}, globex: {{}} }}
policies:
{policies}
routes:
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo }}
    policies: [{route_policies}]
observability: {{ access_log: {{ to: "off" }} }}
"#
    )
}

fn upstreams() -> BTreeMap<&'static str, RecordingUpstream> {
    ["odoo"]
        .iter()
        .chain(POOLS.iter())
        .map(|n| (*n, RecordingUpstream::start()))
        .collect()
}

fn conformance(policy: &str) {
    common::env();
    let mut groups: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    for c in cases(policy, "switchyard") {
        groups.entry(c.config.to_string()).or_default().push(c);
    }
    let mut failures = Vec::new();
    for (cfg, group) in groups {
        let ups = upstreams();
        let entry = format!(
            "  p:\n    module: \"{}\"\n    config: {cfg}\n    on_error: deny",
            module(policy).display()
        );
        let yaml = config(&ups, &entry, "p", "");
        if group.iter().all(|c| c.expect.load_error) {
            match TestProxy::try_start(&yaml) {
                Err(_) => continue,
                Ok(_) => failures.push(format!("{}: the config was accepted", group[0].name)),
            }
            continue;
        }
        let p = TestProxy::start(&yaml);
        for case in group {
            let response = send(p.addr, &case);
            let hit = ups
                .iter()
                .find_map(|(n, u)| recorded(u, &case).map(|r| (*n, r)));
            let seen = Observed {
                variant: response.header("x-switchyard-variant").map(str::to_owned),
                pool: hit
                    .as_ref()
                    .map(|(n, _)| (*n).to_owned())
                    .filter(|n| n != "odoo"),
                upstream: hit.map(|(_, r)| r),
                response,
            };
            if let Err(e) = check(&case, &seen) {
                failures.push(format!("{}: {e}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn switchyard_edge_guard() {
    conformance("edge-guard");
}

#[test]
fn switchyard_edi_routing() {
    conformance("edi-routing");
}

#[test]
fn switchyard_tenant_maintenance() {
    conformance("tenant-maintenance");
}

/// A WAT guest: `body` is the body of `handle_request` (returns i64), `data` its strings.
fn wat(body: &str, data: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "http_handler" "set_header_value" (func $set (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "{data}")
  (func (export "handle_request") (result i64) {body})
  (func (export "handle_response") (param i32 i32)))"#
    );
    wat::parse_str(text).expect("wat")
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write module");
    p.display().to_string()
}

#[test]
fn hostile_modules_are_refused_at_load_and_contained_at_run_time() {
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let ups = upstreams();
    let entry = |file: &str, on_error: &str, extra: &str| {
        format!("  p:\n    module: \"{file}\"\n    on_error: {on_error}\n    limits: {{ time: 5ms, memory: 1MiB }}\n{extra}")
    };
    let forbidden = wat::parse_str(r#"(module (import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32))) (memory (export "memory") 1) (func (export "handle_request") (result i64) (i64.const 1)) (func (export "handle_response") (param i32 i32)))"#).expect("wat");
    let refused = [
        (
            "garbage.wasm",
            b"\0asm garbage".to_vec(),
            "",
            "policies.p.module",
        ),
        ("forbidden.wasm", forbidden, "", "path_open"),
        (
            "fails-test.wasm",
            wat("(i64.const 1)", ""),
            "    tests: [{ request: { path: /x }, expect: { status: 503 } }]",
            "policies.p.tests[0]",
        ),
        (
            "pinned.wasm",
            wat("(i64.const 1)", ""),
            &format!("    sha256: \"{}\"", "0".repeat(64)),
            "policies.p.sha256",
        ),
    ];
    for (name, bytes, extra, want) in refused {
        let f = write(dir.path(), name, &bytes);
        let errs = TestProxy::try_start(&config(&ups, &entry(&f, "deny", extra), "p", ""))
            .err()
            .unwrap_or_default();
        assert!(errs.iter().any(|e| e.contains(want)), "{name}: {errs:?}");
    }
    // Run time: an infinite loop, a memory bomb, runaway recursion and a trap are each stopped
    // within the limits; `deny` answers 503 without internals, `allow` forwards untouched.
    let runaway = [
        ("loop", "(loop $l (br $l)) (i64.const 1)", "timeout"),
        ("bomb", "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) (unreachable)", "memory"),
        ("trap", "(unreachable)", "trap"),
    ];
    for (name, body, kind) in runaway {
        let f = write(dir.path(), &format!("{name}.wasm"), &wat(body, ""));
        for on_error in ["deny", "allow"] {
            let p = TestProxy::start(&config(&ups, &entry(&f, on_error, ""), "p", ""));
            let t0 = std::time::Instant::now();
            let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "{name} held the request {:?}",
                t0.elapsed()
            );
            if on_error == "deny" {
                assert_eq!(r.status, 503, "{name}: {}", r.text());
                let body = r.text();
                assert!(
                    !body.contains("wasm") && !body.contains("backtrace"),
                    "{name} leaked: {body}"
                );
            } else {
                assert_eq!(r.status, 200, "{name} with allow");
            }
            let again = client::get(p.addr, "acme.erp.test", "/web", &[]);
            assert_eq!(
                again.status, r.status,
                "{name}: the next request is handled the same"
            );
            let m = p.metrics();
            assert!(
                m.contains(&format!(
                    r#"switchyard_policy_errors_total{{kind="{kind}",policy="p"}}"#
                )),
                "{name}: {m}"
            );
        }
    }
}

#[test]
fn a_policy_cannot_route_into_another_tenants_pool() {
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let ups = upstreams();
    let module = wat("(call $set (i32.const 0) (i32.const 16) (i32.const 17) (i32.const 33) (i32.const 14)) (i64.const 1)", "x-switchyard-poolacme-dedicated");
    let f = write(dir.path(), "steer.wasm", &module);
    let acme = RecordingUpstream::start();
    let extra = format!(
        "  acme-dedicated: {{ endpoints: [{}], tenants: [acme] }}",
        acme.url()
    );
    let yaml = config(&ups, &format!("  p:\n    module: \"{f}\""), "p", &extra)
        .replace("acme: {}", "acme: { upstream: { stable: acme-dedicated } }");
    let p = TestProxy::start(&yaml);
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/web", &[]).status,
        200,
        "acme may use its pool"
    );
    let g = client::get(p.addr, "globex.erp.test", "/web", &[]);
    assert_eq!(
        (g.status, g.json()["type"].as_str()),
        (403, Some("urn:switchyard:problem:policy-pool-refused"))
    );
    assert_eq!(acme.requests().len(), 1);
    assert!(p
        .metrics()
        .contains(r#"switchyard_policy_errors_total{kind="pool_refused",policy="p"}"#));
}

#[test]
fn modules_swap_live_under_load_and_shadows_only_count() {
    common::env();
    let ups = upstreams();
    let tm = module("tenant-maintenance");
    let entry = format!(
        "  maint:\n    module: \"{}\"\n    config: {{ tenants: [] }}",
        tm.display()
    );
    let p = TestProxy::start(&config(&ups, &entry, "maint", ""));
    let addr = p.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                for _ in 0..2000 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let s = client::get(addr, "acme.erp.test", "/web", &[]).status;
                    if s != 200 {
                        bad.push(s);
                    }
                }
                bad
            })
        })
        .collect();
    let bytes = std::fs::read(&tm).expect("module");
    let push = |q: &str, body: &[u8]| {
        client::admin(
            p.admin,
            "PUT",
            &format!("/api/v1/policies/maint{q}"),
            Some(common::OPERATOR_TOKEN),
            &["Content-Type: application/wasm"],
            body,
        )
    };
    for _ in 0..3 {
        let r = push("", &bytes);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let garbage = push("", b"not wasm");
    assert_eq!(garbage.status, 422, "{}", garbage.text());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let failed: Vec<u16> = load
        .into_iter()
        .flat_map(|h| h.join().expect("join"))
        .collect();
    assert!(
        failed.is_empty(),
        "requests failed during swaps: {failed:?}"
    );
    // A shadow that would answer 503 runs beside the live one and only counts.
    let deny_all = wat::parse_str(
        r#"(module (import "http_handler" "set_status_code" (func $status (param i32)))
             (memory (export "memory") 1)
             (func (export "handle_request") (result i64) (call $status (i32.const 503)) (i64.const 0))
             (func (export "handle_response") (param i32 i32)))"#,
    )
    .expect("wat");
    let r = push("?mode=shadow", &deny_all);
    assert_eq!(r.status, 200, "{}", r.text());
    for _ in 0..5 {
        assert_eq!(
            client::get(addr, "acme.erp.test", "/web", &["X-Tenant: globex"]).status,
            200
        );
    }
    let m = eventually(Duration::from_secs(2), || {
        let m = p.metrics();
        m.contains("switchyard_policy_shadow_disagreements_total{policy=\"maint\"}")
            .then_some(m)
    });
    assert!(m.is_some(), "disagreements counted");
}

/// A rebuilt module file reloads by itself; a broken one is refused and the last good keeps
/// serving.
#[test]
fn a_changed_module_file_reloads_and_a_broken_one_is_refused() {
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let ups = upstreams();
    let file = write(dir.path(), "p.wasm", &wat("(i64.const 1)", ""));
    let p = TestProxy::start(&config(
        &ups,
        &format!("  p:\n    module: \"{file}\""),
        "p",
        "",
    ));
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/web", &[]).status,
        200
    );
    let deny = wat::parse_str(
        r#"(module (import "http_handler" "set_status_code" (func $status (param i32)))
             (memory (export "memory") 1)
             (func (export "handle_request") (result i64) (call $status (i32.const 418)) (i64.const 0))
             (func (export "handle_response") (param i32 i32)))"#,
    )
    .expect("wat");
    let replace = |bytes: &[u8]| {
        let tmp = dir.path().join(".p.wasm.tmp");
        std::fs::write(&tmp, bytes).expect("write");
        std::fs::rename(&tmp, dir.path().join("p.wasm")).expect("rename");
    };
    replace(&deny);
    let swapped = eventually(Duration::from_secs(5), || {
        (client::get(p.addr, "acme.erp.test", "/web", &[]).status == 418).then_some(())
    });
    assert!(swapped.is_some(), "the rebuilt module went live");
    assert_eq!(p.version(), 2);
    replace(b"broken");
    let refused = eventually(Duration::from_secs(5), || {
        let s = p.status(common::OPERATOR_TOKEN);
        (s["last_reload"]["result"] == "refused").then_some(s)
    });
    assert!(refused.is_some(), "a broken module is refused");
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/web", &[]).status,
        418,
        "the last good keeps serving"
    );
}

/// A policy that picks only the release: the route's canary serves it even at weight 0.
#[test]
fn a_policy_can_pick_the_release() {
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let ups = upstreams();
    let canary = RecordingUpstream::start();
    let module = wat("(call $set (i32.const 0) (i32.const 16) (i32.const 20) (i32.const 36) (i32.const 6)) (i64.const 1)", "x-switchyard-variantcanary");
    let f = write(dir.path(), "variant.wasm", &module);
    let yaml = config(
        &ups,
        &format!("  p:\n    module: \"{f}\""),
        "p",
        &format!("  odoo-canary: {{ endpoints: [{}] }}", canary.url()),
    )
    .replace(
        "    upstream: { stable: odoo }",
        "    upstream: { stable: odoo, canary: odoo-canary }\n    canary: { weight: 0 }",
    );
    let p = TestProxy::start(&yaml);
    let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!(
        (r.status, r.header("x-switchyard-variant")),
        (200, Some("canary"))
    );
    assert_eq!(canary.requests().len(), 1);
    assert!(
        canary.requests()[0]
            .header("x-switchyard-variant")
            .is_empty(),
        "read and removed"
    );
}

/// A fuel limit turns metering on and bounds a runaway guest by instructions.
#[test]
fn fuel_limits_are_metered() {
    common::env();
    let dir = tempfile::tempdir().expect("dir");
    let ups = upstreams();
    let ok = write(dir.path(), "ok.wasm", &wat("(i64.const 1)", ""));
    let spin = write(
        dir.path(),
        "spin.wasm",
        &wat("(loop $l (br $l)) (i64.const 1)", ""),
    );
    let entries = format!(
        "  ok:\n    module: \"{ok}\"\n    limits: {{ fuel: 100000 }}\n  spin:\n    module: \"{spin}\"\n    limits: {{ fuel: 100000, time: 1s }}\n    on_error: deny"
    );
    let p = TestProxy::start(&config(&ups, &entries, "ok, spin", ""));
    let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
    assert_eq!(r.status, 503);
    assert!(p
        .metrics()
        .contains(r#"switchyard_policy_errors_total{kind="fuel",policy="spin"}"#));
}
