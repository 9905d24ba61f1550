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

/// Every wanted error (by prefix) is shown, and nothing else.
fn exactly(shown: &[String], want: &[&str]) {
    for w in want {
        assert!(
            shown.iter().any(|s| s.starts_with(w)),
            "missing {w:?} in {shown:#?}"
        );
    }
    assert_eq!(shown.len(), want.len(), "{shown:#?}");
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
        tenants::TenantMatch::Unknown("a.b"),
        "extra labels under a pattern name no tenant: refused, never served without one"
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
    exactly(&shown, &want);
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

const CANARY: &str = r#"
server: { listen: 127.0.0.1:8080 }
state: { backend: redis, redis: { url: "redis://127.0.0.1:6379/0" } }
pools:
  odoo-stable: { endpoints: [http://127.0.0.1:8069] }
  odoo-canary: { endpoints: [http://127.0.0.1:8070] }
  acme-dedicated: { endpoints: [http://127.0.0.1:8071] }
tenants:
  identify: [{ host: "{tenant}.erp.example.com" }]
  list:
    acme: { upstream: { stable: acme-dedicated } }
    globex: {}
routes:
  - name: odoo
    match: { host: "*.erp.example.com" }
    upstream: { stable: odoo-stable, canary: odoo-canary }
    canary:
      weight: 12.5
      sticky: header:X-User-Id
      pilot_tenants: [globex]
      excluded_tenants: [acme]
      override: { header: X-Canary, from: [10.0.0.0/8] }
      guard: { window: 30s, min_requests: 20 }
      ramp: { steps: [5, 10, 25, 50, 100], every: 15m }
"#;

#[test]
fn canary_settings_compile() {
    let c = load(CANARY, &env()).expect("compiles");
    let (pool, canary) = c.routes[0].canary.as_ref().expect("canary");
    assert_eq!(*pool, PoolId(1)); // pools are sorted by name
    assert_eq!(canary.weight.basis_points(), 1250);
    assert_eq!(
        canary.sticky,
        Sticky::Header(http::HeaderName::from_static("x-user-id"))
    );
    assert_eq!(
        (canary.pilot.clone(), canary.excluded.clone()),
        (vec![1], vec![0])
    );
    let guard = canary.guard.expect("guard");
    assert_eq!((guard.window.as_secs(), guard.min_requests), (30, 20));
    assert_eq!(guard.max_error_rate, 0.05);
    assert_eq!(canary.ramp.as_ref().map(|r| r.steps.len()), Some(5));
    assert_eq!(c.tenants.list[0].upstream, Some((PoolId(0), None)));
    assert!(
        matches!(c.state.backend, Backend::Redis { ref prefix, .. } if prefix == "switchyard:")
    );
}

#[test]
fn canary_problems_are_reported_with_their_paths() {
    let bad = CANARY
        .replace("weight: 12.5", "weight: 12.345")
        .replace("sticky: header:X-User-Id", "sticky: session")
        .replace(
            "pilot_tenants: [globex]",
            "pilot_tenants: [globex, initech]",
        )
        .replace("[5, 10, 25, 50, 100]", "[5, 50, 25]")
        .replace("stable: acme-dedicated", "stable: acme-ded")
        .replace("10.0.0.0/8", "10.0.0.0/88");
    let shown: Vec<String> = load(&bad, &env())
        .expect_err("refused")
        .iter()
        .map(ToString::to_string)
        .collect();
    let want = [
        "routes[0].canary.weight: weight 12.345 has more than two decimals",
        "routes[0].canary.sticky: invalid sticky key \"session\"",
        "routes[0].canary.pilot_tenants[1]: unknown tenant \"initech\"",
        "routes[0].canary.ramp.steps: steps must rise strictly",
        "tenants.list.acme.upstream.stable: unknown pool \"acme-ded\"",
        "routes[0].canary.override.from[0]: invalid CIDR",
    ];
    exactly(&shown, &want);
    let no_pool = CANARY.replace(", canary: odoo-canary", "");
    let errs = load(&no_pool, &env()).expect_err("refused");
    assert_eq!(
        errs[0].to_string(),
        "routes[0].canary: needs upstream.canary (the canary pool)"
    );
}

const TENANTS: &str = r#"
server: { listen: 127.0.0.1:8080 }
pools:
  odoo-stable: { endpoints: [http://127.0.0.1:8069], max_in_flight: 32 }
  acme-dedicated: { endpoints: [http://127.0.0.1:8071], tenants: [acme] }
tenants:
  identify:
    - host: "{tenant}.erp.bücher.example"
    - client_cert: san_dns
    - header: X-Tenant
  defaults: { max_in_flight: 8, queue: 16, rate: { limit: 200/s, burst: 400 } }
  odoo: { db_manager_from: [10.0.0.0/8], inspect_max: 64KiB }
  list:
    acme: { database: acme_prod, upstream: { stable: acme-dedicated }, max_in_flight: 256 }
    globex: { database: globex, rate: { limit: 50/s, burst: 100 } }
routes:
  - name: odoo
    match: { path_prefix: / }
    upstream: { stable: odoo-stable }
"#;

#[test]
fn tenant_sources_admission_and_owned_pools_compile() {
    let c = load(TENANTS, &env()).expect("compiles");
    let t = &c.tenants;
    assert_eq!(
        t.host_patterns[0].suffix, ".erp.xn--bcher-kva.example",
        "IDNA to ASCII"
    );
    assert_eq!(t.cert, Some(tenants::CertField::SanDns));
    assert_eq!(t.header.as_ref().map(|h| h.as_str()), Some("x-tenant"));
    assert_eq!(c.pools[0].owners, vec![0], "acme-dedicated owned by acme");
    assert!(c.pools[0].admits(Some(0)) && !c.pools[0].admits(Some(1)) && !c.pools[0].admits(None));
    assert_eq!(c.pools[1].max_in_flight, Some(32));
    let (acme, globex) = (&t.list[0].admission, &t.list[1].admission);
    assert_eq!(
        (acme.max_in_flight, acme.queue),
        (256, 16),
        "own value, then defaults"
    );
    assert_eq!(acme.rate.map(|r| r.burst), Some(400));
    assert_eq!(
        globex.rate.map(|r| (r.rate.limit, r.burst)),
        Some((50, 100))
    );
    assert_eq!(t.list[0].database.as_deref(), Some("acme_prod"));
    assert_eq!(t.odoo.inspect_max, 64 << 10);
}

#[test]
fn mappings_that_break_pool_ownership_are_refused() {
    let bad = TENANTS
        .replace(
            "upstream: { stable: odoo-stable }",
            "upstream: { stable: acme-dedicated }",
        )
        .replace(
            "globex: { database: globex,",
            "globex: { database: globex, upstream: { stable: acme-dedicated },",
        )
        .replace("tenants: [acme] }", "tenants: [acme, initech] }")
        .replace(
            "- header: X-Tenant",
            "- { header: X-Tenant, host: \"{tenant}.x\" }",
        )
        .replace("database: acme_prod", "database: \"acme prod\"");
    let shown: Vec<String> = load(&bad, &env())
        .expect_err("refused")
        .iter()
        .map(ToString::to_string)
        .collect();
    let want = [
        "routes[0].upstream.stable: pool \"acme-dedicated\" is owned by tenants [\"acme\"]",
        "tenants.list.globex.upstream.stable: pool \"acme-dedicated\" is owned by tenants [\"acme\"]",
        "pools.acme-dedicated.tenants[1]: unknown tenant \"initech\"",
        "tenants.identify[2]: each source names exactly one of host, client_cert or header",
        "tenants.list.acme.database: a database name is",
    ];
    exactly(&shown, &want);
}
