//! Config compiler tests: a good file compiles; every problem is reported with its path.

use super::*;
use std::collections::HashMap;

struct FakeEnv(HashMap<&'static str, &'static str>);

impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|s| s.to_string())
    }
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} not found", path.display()),
        ))
    }
}

fn env() -> FakeEnv {
    FakeEnv(HashMap::from([("ADMIN_TOKEN", "0123456789abcdef0123")]))
}

const GOOD: &str = r#"
server:
  listen: 127.0.0.1:8080
  trusted_proxies: [127.0.0.1/32, 10.42.0.0/16]
  limits: { max_header_bytes: 32KiB, max_body: 1MiB, header_timeout: 5s }
admin:
  listen: 127.0.0.1:9901
  tokens:
    - { name: ops, role: operator, token: { env: ADMIN_TOKEN } }
pools:
  odoo-stable:
    endpoints: [http://127.0.0.1:8069, "http://10.0.1.11:8069"]
    health: { path: /web/health, interval: 2s }
  integration: { endpoints: [http://127.0.0.1:9000] }
tenants:
  identify: [{ host: "{tenant}.erp.example.com" }]
  list: { acme: {}, globex: {} }
routes:
  - name: hooks
    match: { path_prefix: /hooks/ }
    upstream: { stable: integration }
  - name: odoo
    match: { host: "*.erp.example.com" }
    upstream: { stable: odoo-stable }
"#;

#[test]
fn a_good_config_compiles() {
    let c = load(GOOD, &env()).expect("compiles");
    assert_eq!(c.server.limits.max_header_bytes, 32 << 10);
    assert_eq!(c.pools.len(), 2);
    assert_eq!(c.pools[1].endpoints[1].authority, "10.0.1.11:8069");
    assert_eq!(c.routes[1].stable, PoolId(1));
    assert_eq!(c.admin.tokens[0].role, Role::Operator);
    assert!(c.server.is_trusted("10.42.3.4".parse().expect("ip")));
    assert!(!c.server.is_trusted("10.43.3.4".parse().expect("ip")));
    assert_eq!(
        c.tenants.by_host("acme.erp.example.com", false),
        tenants::TenantMatch::Known(0)
    );
    assert_eq!(
        c.tenants.by_host("zeta.erp.example.com", false),
        tenants::TenantMatch::Unknown("zeta")
    );
    assert_eq!(
        c.tenants.by_host("a.b.erp.example.com", false),
        tenants::TenantMatch::None
    );
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let bad = GOOD
        .replace("stable: odoo-stable", "stable: odoo-stabel")
        .replace("32KiB", "32 parsecs")
        .replace("127.0.0.1:9000", "127.0.0.1:notaport")
        .replace("env: ADMIN_TOKEN", "env: MISSING_TOKEN")
        .replace("10.42.0.0/16", "10.42.0.0/99");
    let errs = load(&bad, &env()).expect_err("refused");
    let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let want = [
        "routes[1].upstream.stable: unknown pool \"odoo-stabel\"",
        "server.limits.max_header_bytes: invalid size",
        "pools.integration.endpoints[0]: invalid endpoint",
        "admin.tokens[0].token: environment variable MISSING_TOKEN is not set",
        "server.trusted_proxies[1]: invalid CIDR",
    ];
    for w in want {
        assert!(
            shown.iter().any(|s| s.starts_with(w)),
            "missing {w:?} in {shown:#?}"
        );
    }
    assert_eq!(shown.len(), want.len(), "{shown:#?}");
}

#[test]
fn unknown_keys_are_errors_with_a_path() {
    let bad = GOOD.replace(
        "health: { path: /web/health, interval: 2s }",
        "health: { path: /web/health, intervall: 2s }",
    );
    let errs = load(&bad, &env()).expect_err("refused");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].path, "pools.odoo-stable.health.intervall");
    assert!(
        errs[0].message.contains("unknown field `intervall`"),
        "{}",
        errs[0].message
    );
}

#[test]
fn schema_describes_the_file() {
    let s = json_schema();
    assert!(s["properties"]["routes"].is_object(), "{s}");
    assert_eq!(s["additionalProperties"], serde_json::Value::Bool(false));
}
