use super::*;
use switchyard_policy_sdk::testing::FakeExchange;

fn policy(config: &str) -> TenantMaintenance {
    let v = Value::parse(config.as_bytes()).expect("json");
    TenantMaintenance::from_config(&v).expect("config")
}

fn to(host: &str) -> FakeExchange {
    FakeExchange::get("/web").header("Host", host)
}

fn status(v: &Verdict) -> u16 {
    match v {
        Verdict::Continue => 200,
        Verdict::Respond(r) => r.status,
    }
}

#[test]
fn holds_listed_tenants() {
    let p = policy(r#"{"tenants": ["acme"], "retry_after": "120"}"#);
    let v = to("acme.erp.test:8080").run(&p);
    let Verdict::Respond(r) = &v else {
        panic!("held")
    };
    assert_eq!(r.status, 503);
    let h = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(h("retry-after"), Some("120"));
    assert_eq!(h("content-type"), Some("text/html; charset=utf-8"));
    let body = String::from_utf8_lossy(&r.body);
    assert!(body.contains("<strong>acme</strong>"), "{body}");
    assert!(body.contains("about 2 minutes"), "{body}");
    assert_eq!(status(&to("globex.erp.test").run(&p)), 200);
    assert_eq!(status(&to("127.0.0.1:80").run(&p)), 200);
    assert_eq!(status(&to("localhost").run(&p)), 200);
}

#[test]
fn either_source_of_the_tenant_holds() {
    let p = policy(r#"{"tenants": "acme"}"#);
    let spoof = to("acme.erp.test").header("X-Switchyard-Tenant", "globex");
    assert_eq!(status(&spoof.clone().run(&p)), 503, "header cannot dodge");
    let named = to("globex.erp.test").header("X-Switchyard-Tenant", "ACME");
    assert_eq!(status(&named.clone().run(&p)), 503);
    assert_eq!(status(&to("ACME.erp.test").run(&p)), 503);
}

#[test]
fn allow_lists() {
    let p = policy(
        r#"{"tenants": ["*"], "allow_from": ["10.0.0.0/8", "::1"], "allow_paths": "/web/health"}"#,
    );
    assert_eq!(status(&to("acme.erp.test").run(&p)), 503);
    assert_eq!(
        status(&to("any.erp.test").source("10.9.8.7:1234").run(&p)),
        200
    );
    assert_eq!(
        status(&to("any.erp.test").source("[::1]:1234").run(&p)),
        200
    );
    assert_eq!(
        status(&to("any.erp.test").source("11.0.0.1:1").run(&p)),
        503
    );
    let mut health = FakeExchange::get("/web/health").header("Host", "acme.erp.test");
    assert_eq!(status(&health.run(&p)), 200);
    // "*" holds requests that name no tenant at all too.
    assert_eq!(status(&to("127.0.0.1").run(&p)), 503);
}

#[test]
fn domains_and_escaping() {
    let p = policy(
        r#"{"tenants": ["acme", "<x>"], "domains": ["erp.example.com"], "message": "<b>soon</b>"}"#,
    );
    assert_eq!(status(&to("acme.erp.example.com").run(&p)), 503);
    assert_eq!(status(&to("acme.other.example.com").run(&p)), 200);
    assert_eq!(status(&to("acme.xerp.example.com").run(&p)), 200);
    let v = FakeExchange::get("/")
        .header("X-Switchyard-Tenant", "<x>")
        .run(&p);
    let Verdict::Respond(r) = v else {
        panic!("held")
    };
    let body = String::from_utf8_lossy(&r.body);
    assert!(
        body.contains("&lt;x&gt;") && body.contains("&lt;b&gt;soon&lt;/b&gt;"),
        "{body}"
    );
    assert!(!body.contains("<b>"), "{body}");
}

#[test]
fn config_errors() {
    for bad in [
        r#"{"allow_from": ["10.0.0.0/33"]}"#,
        r#"{"allow_from": "nope"}"#,
        r#"{"retry_after": "-1"}"#,
        r#"{"allow_paths": ["health"]}"#,
        r#"{"tenant": ["acme"]}"#,
    ] {
        let v = Value::parse(bad.as_bytes()).expect("json");
        assert!(TenantMaintenance::from_config(&v).is_err(), "{bad}");
    }
}
