//! The command line: `check` prints every problem with its config path and exits 1, passes
//! the shipped example configs; `schema` prints a JSON Schema.

use std::process::Command;
use switchyard_test_support::{binary, workspace_root};

/// Runs `switchyard check` with the token variables the shipped configs refer to.
fn check(config: &std::path::Path) -> std::process::Output {
    Command::new(binary())
        .args(["check", "--config"])
        .arg(config)
        .env("DEPLOY_BOT_TOKEN", "deploy-bot-token-0123456789")
        .env("ONCALL_TOKEN", "oncall-token-0123456789")
        .output()
        .expect("run switchyard check")
}

#[test]
fn check_reports_every_problem_with_its_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("bad.yaml");
    std::fs::write(
        &f,
        r#"
server: { listen: "0.0.0.0:80", trusted_proxies: [10.0.0.0/33], limits: { idle_timeout: soon } }
pools:
  acme-dedicated: { endpoints: ["http://10.0.3.10:8069"] }
  broken: { endpoints: [] }
tenants:
  identify: [{ host: "{tenant}.erp.example.com" }]
  list: { acme: {}, Bad_Name: {} }
routes:
  - name: odoo
    match: { host: "*.erp.example.com" }
    upstream: { stable: acme-ded }
"#,
    )
    .expect("write");
    let out = check(&f);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "routes[0].upstream.stable: unknown pool \"acme-ded\"",
        "server.trusted_proxies[0]: invalid CIDR",
        "server.limits.idle_timeout: invalid duration",
        "pools.broken.endpoints: a pool needs at least one endpoint",
        "tenants.list.Bad_Name: tenant names are lower-case DNS labels",
        "5 problem(s)",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    std::fs::write(
        &f,
        "server: { listen: 127.0.0.1:1, colour: blue }\npools: {}\nroutes: []\n",
    )
    .expect("write");
    let out = check(&f);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.colour: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn shipped_configs_pass_check() {
    let root = workspace_root();
    let out = check(&root.join("config/switchyard.yaml"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ex in std::fs::read_dir(root.join("config/examples"))
        .expect("examples")
        .flatten()
    {
        let out = check(&ex.path());
        assert!(
            out.status.success(),
            "{}: {}",
            ex.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn schema_is_json_schema_that_forbids_unknown_keys() {
    let out = Command::new(binary()).arg("schema").output().expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("json-schema.org")),
        "{v}"
    );
    assert_eq!(v["additionalProperties"], false);
    assert!(v["properties"]["pools"].is_object());
}
