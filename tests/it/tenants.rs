//! Tenant isolation against the real proxy: a spoofing corpus (what the client gets AND what
//! the upstream received, or that it received nothing), tenant sources that must agree
//! (host, client certificate forwarded by Traefik, trusted header), owned pools that only
//! their owners ever reach whatever the request says, and admission: a tenant over its rate
//! gets 429 with quota headers, a flooding tenant never gets another refused.

use crate::common::{self, VIEWER_TOKEN};
use std::time::Duration;
use switchyard_test_support::client::{self, Resp};
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};

/// Shared pool `odoo`, acme's own pool `acme-dedicated`; tenants acme (db acme_prod), globex
/// (db globex); `trusted` decides whether 127.0.0.1 is a trusted proxy.
fn config(
    shared: &RecordingUpstream,
    acme: &RecordingUpstream,
    trusted: bool,
    extra_tenants: &str,
) -> String {
    let trust = if trusted { "[127.0.0.1/32]" } else { "[]" };
    format!(
        r#"
server: {{ listen: 127.0.0.1:0, workers: 1, trusted_proxies: {trust} }}
admin:
  listen: 127.0.0.1:0
  tokens: [{{ name: dashboard, role: viewer, token: {{ env: SY_TEST_VIEWER }} }}]
state: {{ backend: local, data_dir: "${{DATA_DIR}}" }}
pools:
  odoo: {{ endpoints: [{}] }}
  acme-dedicated: {{ endpoints: [{}], tenants: [acme] }}
tenants:
  identify:
    - host: "{{tenant}}.erp.test"
    - client_cert: san_dns
    - header: X-Tenant
  odoo: {{ db_manager_from: [10.99.0.0/16] }}
  list:
    acme: {{ database: acme_prod, upstream: {{ stable: acme-dedicated }} }}
    globex: {{ database: globex }}
{extra_tenants}
routes:
  - name: odoo
    match: {{ host: "*.erp.test" }}
    upstream: {{ stable: odoo }}
observability: {{ access_log: {{ to: "off" }} }}
"#,
        shared.url(),
        acme.url()
    )
}

fn send(p: &TestProxy, raw: &str) -> Resp {
    client::raw(p.addr, raw.as_bytes())
}

/// (name, raw request, status, tenant whose pool must have received it — None: nothing sent)
type Case = (&'static str, String, u16, Option<&'static str>);

fn corpus() -> Vec<Case> {
    let get = |target: &str, host: &str, extra: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
    };
    let post = |target: &str, ctype: &str, body: &str| {
        format!("POST {target} HTTP/1.1\r\nHost: acme.erp.test\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
    };
    let json = "application/json";
    let mut v: Vec<Case> = vec![
        ("plain", get("/web", "acme.erp.test", ""), 200, Some("acme")),
        (
            "other tenant",
            get("/web", "globex.erp.test", ""),
            200,
            Some("globex"),
        ),
        (
            "unknown tenant",
            get("/web", "zeta.erp.test", ""),
            404,
            None,
        ),
        (
            "absolute-form naming another tenant",
            get("http://globex.erp.test/web", "acme.erp.test", ""),
            400,
            None,
        ),
        (
            "duplicate Host",
            get("/web", "acme.erp.test", "Host: globex.erp.test\r\n"),
            400,
            None,
        ),
        (
            "X-Forwarded-Host from untrusted",
            get(
                "/web",
                "acme.erp.test",
                "X-Forwarded-Host: globex.erp.test\r\n",
            ),
            200,
            Some("acme"),
        ),
        (
            "Forwarded host from untrusted",
            get(
                "/web",
                "acme.erp.test",
                "Forwarded: host=globex.erp.test\r\n",
            ),
            200,
            Some("acme"),
        ),
        (
            "X-Tenant from untrusted",
            get("/web", "acme.erp.test", "X-Tenant: globex\r\n"),
            200,
            Some("acme"),
        ),
        (
            "X_Tenant underscore",
            get("/web", "acme.erp.test", "X_Tenant: globex\r\n"),
            200,
            Some("acme"),
        ),
        (
            "spoofed dbfilter",
            get("/web", "acme.erp.test", "X-Odoo-dbfilter: .*\r\n"),
            200,
            Some("acme"),
        ),
        (
            "Traefik cert header from untrusted",
            get(
                "/web",
                "acme.erp.test",
                "X-Forwarded-Tls-Client-Cert: garbage\r\n",
            ),
            200,
            Some("acme"),
        ),
        (
            "session cookie of another db",
            get(
                "/web",
                "acme.erp.test",
                "Cookie: session_id=abc123.globex\r\n",
            ),
            403,
            None,
        ),
        (
            "session cookie of own db",
            get(
                "/web",
                "acme.erp.test",
                "Cookie: session_id=abc123.acme_prod\r\n",
            ),
            200,
            Some("acme"),
        ),
        (
            "session header of another db",
            get(
                "/web",
                "acme.erp.test",
                "X-Openerp-Session-Id: abc.globex\r\n",
            ),
            403,
            None,
        ),
        (
            "session query of another db",
            get("/web?session_id=abc.globex", "acme.erp.test", ""),
            403,
            None,
        ),
        (
            "db param",
            get("/web?db=globex", "acme.erp.test", ""),
            403,
            None,
        ),
        (
            "db param twice",
            get("/web?db=acme_prod&db=globex", "acme.erp.test", ""),
            403,
            None,
        ),
        (
            "encoded db param",
            get("/web?%64b=globex", "acme.erp.test", ""),
            403,
            None,
        ),
        (
            "own db param",
            get("/web?db=acme_prod", "acme.erp.test", ""),
            200,
            Some("acme"),
        ),
        (
            "form db",
            post(
                "/web/login",
                "application/x-www-form-urlencoded",
                "login=a&db=globex",
            ),
            403,
            None,
        ),
        (
            "own form db",
            post(
                "/web/login",
                "application/x-www-form-urlencoded",
                "login=a&db=acme_prod",
            ),
            200,
            Some("acme"),
        ),
        (
            "jsonrpc db service",
            post(
                "/jsonrpc",
                json,
                r#"{"jsonrpc":"2.0","method":"call","params":{"service":"db","method":"list","args":[]}}"#,
            ),
            403,
            None,
        ),
        (
            "jsonrpc duplicate service",
            post(
                "/jsonrpc",
                json,
                r#"{"params":{"service":"object","service":"db"}}"#,
            ),
            400,
            None,
        ),
        (
            "jsonrpc object service",
            post(
                "/jsonrpc",
                json,
                r#"{"params":{"service":"object","method":"execute_kw","args":[]}}"#,
            ),
            200,
            Some("acme"),
        ),
        (
            "jsonrpc spelled /JSONRPC",
            post("/JSONRPC", json, r#"{"params":{"service":"db"}}"#),
            403,
            None,
        ),
    ];
    for path in [
        "/web/database/manager",
        "/web/database/selector",
        "/WEB/Database/Manager",
        "/web//database/./manager",
        "/web/x/../database/manager",
        "/web/%64atabase/manager",
        "/web/database;jsessionid=1/manager",
        "/web/database",
        "/xmlrpc/db",
        "/xmlrpc/2/db",
        "/xmlrpc/2/db/",
        "/xmlrpc/%32/db",
    ] {
        v.push(("db manager", get(path, "acme.erp.test", ""), 403, None));
    }
    v
}

#[test]
fn the_spoofing_corpus_never_reaches_another_tenant() {
    common::env();
    let (shared, acme) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&config(&shared, &acme, false, ""));
    let mut failures = Vec::new();
    for (name, raw, status, tenant) in corpus() {
        let (before_s, before_a) = (shared.requests().len(), acme.requests().len());
        let r = send(&p, &raw);
        let got = (shared.requests(), acme.requests());
        let (sent_s, sent_a) = (&got.0[before_s..], &got.1[before_a..]);
        if r.status != status {
            failures.push(format!(
                "{name}: status {} want {status}: {}",
                r.status,
                r.text()
            ));
            continue;
        }
        if status >= 400 && r.header("content-type") != Some("application/problem+json") {
            failures.push(format!("{name}: not problem+json"));
        }
        let received = match tenant {
            None if sent_s.is_empty() && sent_a.is_empty() => continue,
            None => {
                failures.push(format!("{name}: forwarded although refused"));
                continue;
            }
            Some("acme") if sent_s.is_empty() && sent_a.len() == 1 => &sent_a[0],
            Some("globex") if sent_a.is_empty() && sent_s.len() == 1 => &sent_s[0],
            Some(t) => {
                failures.push(format!("{name}: {t}'s request landed in the wrong pool"));
                continue;
            }
        };
        let t = tenant.unwrap_or_default();
        let db = if t == "acme" {
            "^acme_prod$"
        } else {
            "^globex$"
        };
        let want = [
            ("x-switchyard-tenant", t),
            ("x-odoo-dbfilter", db),
            ("x-forwarded-host", &format!("{t}.erp.test")[..]),
        ];
        for (h, v) in want {
            if received.header(h) != vec![v.to_owned()] {
                failures.push(format!(
                    "{name}: upstream {h} = {:?}, want {v}",
                    received.header(h)
                ));
            }
        }
        for h in [
            "x-tenant",
            "x_tenant",
            "forwarded",
            "x-openerp-session-id",
            "x-forwarded-tls-client-cert",
        ] {
            if !received.header(h).is_empty() {
                failures.push(format!("{name}: {h} reached the upstream"));
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

/// The test client's certificate as Traefik forwards it (`passTLSClientCert` with `pem: true`).
fn traefik_cert_header(cn: &str) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let m = switchyard_test_support::certs::mint(dir.path(), cn);
    let pem = std::fs::read_to_string(m.client_cert).expect("pem");
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    b64.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[test]
fn tenant_sources_from_a_trusted_proxy_must_agree() {
    common::env();
    let (shared, acme) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&config(&shared, &acme, true, ""));
    let acme_cert = format!(
        "X-Forwarded-Tls-Client-Cert: {}",
        traefik_cert_header("acme.clients.test")
    );
    let globex_cert = format!(
        "X-Forwarded-Tls-Client-Cert: {}",
        traefik_cert_header("globex.clients.test")
    );
    let cases: [(&str, &[&str], u16); 7] = [
        ("acme.erp.test", &[&acme_cert], 200),
        ("acme.erp.test", &[&globex_cert], 421),
        ("acme.erp.test", &["X-Tenant: acme"], 200),
        ("acme.erp.test", &["X-Tenant: globex"], 421),
        ("acme.erp.test", &["X-Tenant: acme", &globex_cert], 421),
        ("127.0.0.1", &["X-Tenant: zeta"], 404),
        (
            "acme.erp.test",
            &["X-Forwarded-Tls-Client-Cert: not-a-cert"],
            200,
        ),
    ];
    for (host, extra, status) in cases {
        let r = client::get(p.addr, host, "/web", extra);
        assert_eq!(r.status, status, "{host} {extra:?}: {}", r.text());
    }
    assert!(
        shared.requests().is_empty(),
        "nothing of acme's reached the shared pool"
    );
    assert_eq!(acme.requests().len(), 3);
}

#[test]
fn the_db_manager_opens_only_for_its_sources() {
    common::env();
    let (shared, acme) = (RecordingUpstream::start(), RecordingUpstream::start());
    let yaml = config(&shared, &acme, true, "").replace("10.99.0.0/16", "127.0.0.1/32");
    let p = TestProxy::start(&yaml);
    assert_eq!(
        client::get(p.addr, "acme.erp.test", "/web/database/manager", &[]).status,
        200
    );
    let via = client::get(
        p.addr,
        "acme.erp.test",
        "/web/database/manager",
        &["X-Forwarded-For: 203.0.113.9"],
    );
    assert_eq!(
        via.status, 403,
        "the client behind the trusted proxy is not in db_manager_from"
    );
}

/// A tiny deterministic generator (no extra crates).
struct Lcg(u64);
impl Lcg {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        from[(self.0 >> 33) as usize % from.len()]
    }
}

#[test]
fn owned_pools_only_ever_serve_their_owners() {
    common::env();
    let (shared, acme, canary) = (
        RecordingUpstream::start(),
        RecordingUpstream::start(),
        RecordingUpstream::start(),
    );
    let yaml = config(&shared, &acme, true, "    initech: {}")
        .replace("  acme-dedicated:", &format!("  odoo-canary: {{ endpoints: [{}] }}\n  acme-dedicated:", canary.url()))
        .replace(
            "    upstream: { stable: odoo }",
            "    upstream: { stable: odoo, canary: odoo-canary }\n    canary: { weight: 50, sticky: 'header:X-User', override: { header: X-Canary, from: [127.0.0.1/32] } }",
        );
    let p = TestProxy::start(&yaml);
    let hosts = [
        "acme.erp.test",
        "globex.erp.test",
        "initech.erp.test",
        "zeta.erp.test",
        "127.0.0.1",
        "ACME.erp.test.",
        "acme.erp.test:80",
    ];
    let spoofs = [
        "X-Tenant: acme",
        "X-Tenant: globex",
        "X-Switchyard-Pool: acme-dedicated",
        "X-Switchyard-Tenant: acme",
        "X-Forwarded-Host: acme.erp.test",
        "X-Canary: always",
        "X-Canary: never",
        "X-User: u1",
        "X-User: u2",
        "Cookie: session_id=x.acme_prod",
        "X-Odoo-dbfilter: ^acme_prod$",
        "Forwarded: host=acme.erp.test",
    ];
    let mut rng = Lcg(42);
    for _ in 0..300 {
        let host = rng.pick(&hosts);
        let extra = [rng.pick(&spoofs), rng.pick(&spoofs)];
        let _ = client::get(p.addr, host, "/web", &extra);
    }
    let tenant_of =
        |r: &switchyard_test_support::upstream::Recorded| r.header("x-switchyard-tenant");
    assert!(!acme.requests().is_empty(), "acme reached its pool");
    assert!(
        acme.requests()
            .iter()
            .all(|r| tenant_of(r) == vec!["acme".to_owned()]),
        "only acme in acme-dedicated"
    );
    for r in shared.requests().iter().chain(canary.requests().iter()) {
        assert_ne!(
            tenant_of(r),
            vec!["acme".to_owned()],
            "acme never in a shared pool"
        );
    }
}

#[test]
fn admission_limits_a_tenant_and_never_its_neighbour() {
    common::env();
    let (slow, acme) = (
        RecordingUpstream::with(Behavior::Delay(Duration::from_millis(300))),
        RecordingUpstream::start(),
    );
    let yaml = config(&slow, &acme, false, "")
        .replace("globex: { database: globex }", "globex: { database: globex, max_in_flight: 2, queue: 2 }\n    initech: { max_in_flight: 4 }\n    umbrella: { rate: { limit: 1/min, burst: 5 } }")
        .replace(&format!("  odoo: {{ endpoints: [{}] }}", slow.url()), &format!("  odoo: {{ endpoints: [{}], max_in_flight: 4 }}", slow.url()));
    let p = TestProxy::start(&yaml);
    let addr = p.addr;
    // globex floods: 12 at once against 2 in flight + 2 queued.
    let flood: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(move || client::get(addr, "globex.erp.test", "/web", &[]).status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    // Its neighbour is never refused and is served while the flood lasts.
    let neighbour: Vec<u16> = (0..4)
        .map(|_| client::get(addr, "initech.erp.test", "/web", &[]).status)
        .collect();
    let statuses: Vec<u16> = flood.into_iter().map(|h| h.join().expect("join")).collect();
    assert_eq!(neighbour, vec![200; 4]);
    assert!(
        statuses.iter().filter(|s| **s == 503).count() >= 6,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 4,
        "{statuses:?}"
    );

    let limited: Vec<Resp> = (0..8)
        .map(|_| client::get(addr, "umbrella.erp.test", "/web", &[]))
        .collect();
    let first_429 = limited
        .iter()
        .find(|r| r.status == 429)
        .expect("over the rate");
    assert_eq!(
        first_429.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        first_429.json()["type"],
        "https://iana.org/assignments/http-problem-types#quota-exceeded"
    );
    assert_eq!(
        first_429.header("ratelimit-policy"),
        Some("\"umbrella\";q=5;w=300")
    );
    assert!(first_429
        .header("ratelimit")
        .is_some_and(|v| v.starts_with("\"umbrella\";r=0;t=")));
    assert!(first_429.header("retry-after").is_some());
    assert_eq!(
        limited.iter().filter(|r| r.status == 200).count(),
        5,
        "the burst passes"
    );
    let m = client::get(p.admin, "admin", "/metrics", &[]).text();
    assert!(m.contains(r#"switchyard_ratelimit_decisions_total{key="umbrella",result="limited",scope="tenant"} 3"#), "{m}");
    assert!(
        m.contains(r#"switchyard_admission_rejections_total{reason="queue_full",tenant="globex"}"#),
        "{m}"
    );
    assert!(
        m.contains(r#"switchyard_tenant_in_flight{tenant="initech"} 0"#),
        "{m}"
    );
    let _ = VIEWER_TOKEN;
}
