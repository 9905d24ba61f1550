//! Tests of what a window covers and what a request is: glob matching, scope coverage of
//! targets (the route-wide / tenant-wide rule) and block rules.

use super::*;

fn scope(tenants: &[&str], routes: &[&str]) -> Scope {
    let globs = |l: &[&str]| l.iter().map(|g| Glob::new(g).expect("test glob")).collect();
    Scope::new(globs(tenants), globs(routes))
}

fn target<'a>(route: Option<&'a str>, tenant: Option<&'a str>) -> Target<'a> {
    Target { route, tenant }
}

#[test]
fn globs_match_whole_names() {
    let cases: &[(&str, &str, bool)] = &[
        ("acme", "acme", true),
        ("acme", "acme-eu", false),
        ("acme", "xacme", false),
        ("acme*", "acme", true),
        ("acme*", "acme-eu", true),
        ("acme*", "globex", false),
        ("*", "anything", true),
        ("*", "", true),
        ("*-eu", "acme-eu", true),
        ("*-eu", "acme-us", false),
        ("a*b*c", "abc", true),
        ("a*b*c", "a-b-b-c", true),
        ("a*b*c", "a-c-b", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("**", "x", true),
        ("Acme", "acme", false),
    ];
    for (glob, name, want) in cases {
        assert_eq!(
            Glob::new(glob).expect("glob").matches(name),
            *want,
            "{glob} ~ {name}"
        );
    }
    assert!(Glob::new("").is_err());
}

#[test]
fn scope_coverage() {
    let acme = scope(&["acme*"], &[]);
    let odoo = scope(&[], &["odoo"]);
    let both = scope(&["acme*"], &["odoo"]);
    // (scope, route, tenant, covered, why)
    type Case<'a> = (&'a Scope, Option<&'a str>, Option<&'a str>, bool, &'a str);
    let cases: &[Case<'_>] = &[
        (&Scope::all(), None, None, true, "all covers everything"),
        (
            &Scope::all(),
            Some("odoo"),
            Some("globex"),
            true,
            "all covers a request",
        ),
        (
            &acme,
            Some("odoo"),
            Some("acme-eu"),
            true,
            "tenant glob matches",
        ),
        (&acme, Some("odoo"), Some("globex"), false, "other tenant"),
        (
            &acme,
            Some("odoo"),
            None,
            true,
            "route-wide change reaches acme's traffic",
        ),
        (&acme, None, None, true, "platform-wide change"),
        (
            &odoo,
            Some("odoo"),
            Some("globex"),
            true,
            "route glob matches",
        ),
        (
            &odoo,
            Some("partner-webhooks"),
            Some("acme"),
            false,
            "other route",
        ),
        (
            &odoo,
            None,
            Some("globex"),
            true,
            "tenant-wide change reaches the odoo route",
        ),
        (&both, Some("odoo"), Some("acme"), true, "both match"),
        (&both, Some("odoo"), Some("globex"), false, "tenant misses"),
        (&both, Some("webhooks"), Some("acme"), false, "route misses"),
        (&both, Some("odoo"), None, true, "route-wide change on odoo"),
        (
            &both,
            Some("webhooks"),
            None,
            false,
            "route-wide change elsewhere",
        ),
    ];
    for (s, route, tenant, want, why) in cases {
        assert_eq!(s.covers(&target(*route, *tenant)), *want, "{why}");
    }
}

#[test]
fn block_rules_match_method_and_canonical_path() {
    let install = BlockRule {
        methods: vec!["POST".into()],
        path: regex::Regex::new(
            r"^/web/dataset/call_kw/ir\.module\.module/button_(immediate_)?(install|upgrade|uninstall)",
        )
        .expect("regex"),
    };
    let any = BlockRule {
        methods: vec![],
        path: regex::Regex::new("^/web/database/").expect("regex"),
    };
    let base = "/web/dataset/call_kw/ir.module.module/";
    let cases: &[(&BlockRule, &str, String, bool)] = &[
        (
            &install,
            "POST",
            format!("{base}button_immediate_install"),
            true,
        ),
        (&install, "POST", format!("{base}button_upgrade"), true),
        (&install, "POST", format!("{base}button_uninstall"), true),
        (&install, "post", format!("{base}button_install"), true),
        (&install, "GET", format!("{base}button_install"), false),
        (&install, "POST", format!("{base}search_read"), false),
        (
            &install,
            "POST",
            "/web/dataset/call_kw/ir_module_module/button_install".into(),
            false,
        ),
        (&install, "POST", format!("/x{base}button_install"), false),
        (&any, "DELETE", "/web/database/drop".into(), true),
        (&any, "GET", "/web/login".into(), false),
    ];
    for (rule, method, path, want) in cases {
        assert_eq!(rule.matches(method, path), *want, "{method} {path}");
    }
    let freeze = Freeze {
        block_requests: vec![install, any],
        ..Freeze::default()
    };
    assert!(freeze
        .blocked("POST", &format!("{base}button_install"))
        .is_some());
    assert!(freeze.blocked("GET", "/web/login").is_none());
}
