use super::*;
use switchyard_policy_sdk::testing::FakeExchange;

fn guard(config: &str) -> EdgeGuard {
    let v = Value::parse(config.as_bytes()).expect("json");
    EdgeGuard::from_config(&v).expect("config")
}

fn spoofed() -> FakeExchange {
    FakeExchange::get("/web")
        .header("Host", "acme.erp.test")
        .header("X-Tenant", "globex")
        .header("X-Tenant-Id", "7")
        .header("X-Switchyard-Pool", "admin")
        .header("X-Switchyard-Variant", "canary")
        .header("X-Odoo-Dbfilter", ".*")
        .header("X-Openerp-Session-Id", "s")
        .header("X_Switchyard_Pool", "admin")
        .header("x_tenant", "globex")
        .header("X-Original-URL", "/web/database/manager")
        .header("Forwarded", "for=6.6.6.6")
        .header("X-Forwarded-Prefix", "/evil")
        .header("X_Forwarded_For", "6.6.6.6")
        .header("X-Forwarded-For", "127.0.0.1")
        .header("X-Forwarded-Host", "acme.erp.test")
        .header("X-Real-Ip", "127.0.0.1")
        .header("Cookie", "session_id=abc")
        .header("X-Tenantless", "gone-too")
}

#[test]
fn strips_the_spoofable_families_and_keeps_the_rest() {
    let mut ex = spoofed();
    assert_eq!(ex.run(&guard("")), Verdict::Continue);
    let mut left: Vec<String> = ex
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "cookie",
            "host",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-real-ip",
            "x-request-id"
        ]
    );
}

#[test]
fn extra_names_prefixes_and_forwarded_keep() {
    let g = guard(r#"{"strip": "x-debug-*, X-Internal-Token", "forwarded_keep": ["for"]}"#);
    let mut ex = FakeExchange::get("/")
        .header("X-Debug-Token", "1")
        .header("X-Debugger", "kept")
        .header("x_internal_token", "2")
        .header("X-Forwarded-For", "1.2.3.4")
        .header("X-Forwarded-Host", "h");
    ex.run(&g);
    assert_eq!(ex.values("x-debugger"), ["kept"]);
    assert!(ex.values("x-debug-token").is_empty());
    assert!(ex.values("x-internal-token").is_empty());
    assert_eq!(ex.values("x-forwarded-for"), ["1.2.3.4"]);
    assert!(ex.values("x-forwarded-host").is_empty());
}

#[test]
fn request_ids() {
    let g = guard("");
    let mut a = FakeExchange::get("/");
    a.run(&g);
    let id = a.values("x-request-id");
    assert_eq!(id.len(), 1);
    assert_eq!(id[0].len(), 32);
    assert!(id[0]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    // The same request again gets a different id (counter and chained state).
    let mut b = FakeExchange::get("/");
    b.run(&g);
    assert_ne!(b.values("x-request-id"), id);

    let mut kept = FakeExchange::get("/").header("X-Request-Id", "client-abc-123");
    kept.run(&g);
    assert_eq!(kept.values("x-request-id"), ["client-abc-123"]);
    for bad in ["", "has space", &"x".repeat(129)] {
        let mut ex = FakeExchange::get("/").header("X-Request-Id", bad);
        ex.run(&g);
        let v = ex.values("x-request-id");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].len(), 32, "{bad:?} replaced");
    }
    let mut two = FakeExchange::get("/")
        .header("X-Request-Id", "a")
        .header("X-Request-Id", "b");
    two.run(&g);
    assert_eq!(two.values("x-request-id").len(), 1);

    let mut always = FakeExchange::get("/").header("X-Request-Id", "client-abc-123");
    always.run(&guard(r#"{"request_id": "always"}"#));
    assert_ne!(always.values("x-request-id"), ["client-abc-123"]);
    let mut off = FakeExchange::get("/");
    off.run(&guard(r#"{"request_id": false}"#));
    assert!(off.values("x-request-id").is_empty());
}

#[test]
fn config_errors() {
    for bad in [
        r#"{"strp": []}"#,
        r#"{"request_id": "sometimes"}"#,
        r#"{"strip": ["*"]}"#,
        r#"{"strip": {"a": 1}}"#,
        "[1]",
    ] {
        let v = Value::parse(bad.as_bytes()).expect("json");
        assert!(EdgeGuard::from_config(&v).is_err(), "{bad}");
    }
}
