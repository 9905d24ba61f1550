//! Tests of the `freeze:` config section: the SPEC example compiles to the expected calendar,
//! and every mistake is reported at its path.

use super::tests::utc;
use super::*;
use crate::config::freeze::{compile, FreezeSpec};
use crate::config::{ConfigError, Errors};

fn build(yaml: &str) -> (Freeze, Vec<ConfigError>) {
    let spec: FreezeSpec = serde_yaml_ng::from_str(yaml).expect("test yaml parses");
    let mut errs = Errors::default();
    let freeze = compile(&spec, &mut errs);
    (freeze, errs.0)
}

const SPEC_EXAMPLE: &str = r#"
windows:
  - { name: peak-season, schedule: "0 0 20 11 *", duration: 288h, time_zone: America/Chicago }
  - { name: year-end-close, start: 2026-12-28T00:00:00+01:00, end: 2027-01-04T00:00:00+01:00, scope: { tenants: [acme] } }
block_requests:
  - { methods: [POST], path_regex: "^/web/dataset/call_kw/ir\\.module\\.module/button_(immediate_)?(install|upgrade|uninstall)" }
break_glass: { max_ttl: 4h, approvals: 1 }
"#;

#[test]
fn spec_example_compiles() {
    let (freeze, errs) = build(SPEC_EXAMPLE);
    assert_eq!(errs, vec![]);
    let names: Vec<&str> = freeze.windows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["peak-season", "year-end-close"]);
    match &freeze.windows[0].kind {
        WindowKind::Recurring { duration, zone, .. } => {
            assert_eq!(*duration, Duration::from_secs(288 * 3600));
            assert_eq!(*zone, chrono_tz::America::Chicago);
        }
        other => panic!("peak-season compiled to {other:?}"),
    }
    assert_eq!(freeze.windows[0].scope, Scope::all());
    let acme = Target {
        route: Some("odoo"),
        tenant: Some("acme"),
    };
    let globex = Target {
        route: Some("odoo"),
        tenant: Some("globex"),
    };
    let new_year = utc("2027-01-01T12:00:00Z");
    assert_eq!(
        freeze.active(new_year, &acme, &[]).map(|a| a.end),
        Some(utc("2027-01-03T23:00:00Z"))
    );
    assert_eq!(freeze.active(new_year, &globex, &[]), None);
    assert_eq!(
        freeze
            .active(utc("2026-11-27T12:00:00Z"), &globex, &[])
            .map(|a| a.window),
        Some("peak-season".into())
    );
    assert_eq!(freeze.block_requests[0].methods, ["POST"]);
    assert!(freeze
        .blocked(
            "POST",
            "/web/dataset/call_kw/ir.module.module/button_immediate_install"
        )
        .is_some());
    assert_eq!(
        freeze.break_glass,
        BreakGlassPolicy {
            max_ttl: Duration::from_secs(4 * 3600),
            approvals: 1
        }
    );
}

#[test]
fn defaults() {
    let (freeze, errs) = build("{}");
    assert_eq!(errs, vec![]);
    assert!(freeze.windows.is_empty() && freeze.block_requests.is_empty());
    assert_eq!(freeze.break_glass, BreakGlassPolicy::default());
    let (freeze, errs) = build(
        "windows: [{ name: nightly, schedule: '0 2 * * *', duration: 2h, scope: { tenants: ['acme*'], routes: [] } }]\nblock_requests: [{ methods: [post, Delete], path_regex: '^/x' }]\nbreak_glass: { approvals: 0 }",
    );
    assert_eq!(errs, vec![]);
    assert!(matches!(
        freeze.windows[0].kind,
        WindowKind::Recurring {
            zone: chrono_tz::Tz::UTC,
            ..
        }
    ));
    assert_eq!(freeze.windows[0].scope.tenants()[0].as_str(), "acme*");
    assert_eq!(freeze.block_requests[0].methods, ["POST", "DELETE"]);
    assert_eq!(freeze.break_glass.approvals, 0);
    assert_eq!(freeze.break_glass.max_ttl, Duration::from_secs(4 * 3600));
}

#[test]
fn every_mistake_is_reported_at_its_path() {
    let w0 = "freeze.windows[0]";
    let shape = "needs either schedule + duration (time_zone optional) or start + end; found";
    // (yaml, path, message or its start)
    let cases: &[(&str, String, String)] = &[
        ("windows: [{ name: '', schedule: '0 0 * * *', duration: 1h }]", format!("{w0}.name"), "must not be empty".into()),
        ("windows: [{ name: '  ', start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }]", format!("{w0}.name"), "must not be empty".into()),
        (
            "windows: [{ name: a, schedule: '0 0 * * *', duration: 1h }, { name: a, schedule: '0 1 * * *', duration: 1h }]",
            "freeze.windows[1].name".into(),
            "duplicate window name \"a\"".into(),
        ),
        ("windows: [{ name: a }]", w0.into(), format!("{shape} none of them")),
        ("windows: [{ name: a, schedule: '0 0 * * *' }]", w0.into(), format!("{shape} schedule")),
        ("windows: [{ name: a, duration: 1h, time_zone: UTC }]", w0.into(), format!("{shape} duration, time_zone")),
        ("windows: [{ name: a, start: '2026-01-01T00:00:00Z' }]", w0.into(), format!("{shape} start")),
        (
            "windows: [{ name: a, schedule: '0 0 * * *', duration: 1h, start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }]",
            w0.into(),
            format!("{shape} schedule, duration, start, end"),
        ),
        (
            "windows: [{ name: a, time_zone: Europe/Berlin, start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }]",
            w0.into(),
            format!("{shape} time_zone, start, end"),
        ),
        ("windows: [{ name: a, start: 2026-01-02T00:00:00Z, end: 2026-01-01T00:00:00Z }]", format!("{w0}.end"), "end before start".into()),
        ("windows: [{ name: a, start: 2026-01-01T01:00:00+01:00, end: 2026-01-01T00:00:00Z }]", format!("{w0}.end"), "end equals start".into()),
        ("windows: [{ name: a, start: 2026-01-01T00:00:00, end: 2026-01-02T00:00:00Z }]", format!("{w0}.start"), "invalid time \"2026-01-01T00:00:00\"".into()),
        ("windows: [{ name: a, start: 2026-01-01T00:00:00Z, end: tomorrow }]", format!("{w0}.end"), "invalid time \"tomorrow\"".into()),
        ("windows: [{ name: a, schedule: '0 0 20 11', duration: 1h }]", format!("{w0}.schedule"), "invalid cron schedule \"0 0 20 11\"".into()),
        ("windows: [{ name: a, schedule: '0 0 30 2 *', duration: 1h }]", format!("{w0}.schedule"), "cron schedule \"0 0 30 2 *\" never fires".into()),
        (
            "windows: [{ name: a, schedule: '0 0 * * *', duration: 1h, time_zone: America/Chicag }]",
            format!("{w0}.time_zone"),
            "unknown time zone \"America/Chicag\"".into(),
        ),
        ("windows: [{ name: a, schedule: '0 0 * * *', duration: 0s }]", format!("{w0}.duration"), "must be more than 0".into()),
        ("windows: [{ name: a, schedule: '0 0 * * *', duration: 12 parsecs }]", format!("{w0}.duration"), "invalid duration \"12 parsecs\"".into()),
        ("windows: [{ name: a, schedule: '0 0 * * *', duration: 8785h }]", format!("{w0}.duration"), "must be at most 8784h".into()),
        (
            "windows: [{ name: a, schedule: '0 0 * * *', duration: 1h, scope: { tenants: [acme, ''] } }]",
            format!("{w0}.scope.tenants[1]"),
            "empty glob".into(),
        ),
        ("windows: [{ name: a, schedule: '0 0 * * *', duration: 1h, scope: { routes: [''] } }]", format!("{w0}.scope.routes[0]"), "empty glob".into()),
        ("block_requests: [{ path_regex: '^/web/(' }]", "freeze.block_requests[0].path_regex".into(), "invalid regex \"^/web/(\": unclosed group".into()),
        ("block_requests: [{ path_regex: '' }]", "freeze.block_requests[0].path_regex".into(), "must not be empty".into()),
        ("block_requests: [{ methods: [POST, 'PO ST'], path_regex: x }]", "freeze.block_requests[0].methods[1]".into(), "invalid method \"PO ST\"".into()),
        ("break_glass: { approvals: 2 }", "freeze.break_glass.approvals".into(), "must be 0 or 1".into()),
        ("break_glass: { max_ttl: 0s }", "freeze.break_glass.max_ttl".into(), "must be more than 0".into()),
        ("break_glass: { max_ttl: soon }", "freeze.break_glass.max_ttl".into(), "invalid duration \"soon\"".into()),
    ];
    for (yaml, path, message) in cases {
        let (_, errs) = build(yaml);
        assert_eq!(errs.len(), 1, "{yaml}: {errs:?}");
        assert_eq!(&errs[0].path, path, "{yaml}");
        assert!(
            errs[0].message.starts_with(message.as_str()),
            "{yaml}: {}",
            errs[0]
        );
    }
}

#[test]
fn all_mistakes_are_collected() {
    let yaml = "windows:\n  - { name: a, schedule: '0 0 * * *', duration: 1h, time_zone: Mars/Olympus }\n  - { name: a, start: 2026-01-02T00:00:00Z, end: 2026-01-01T00:00:00Z }\nbreak_glass: { approvals: 3 }";
    let (_, errs) = build(yaml);
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "freeze.windows[0].time_zone",
            "freeze.windows[1].name",
            "freeze.windows[1].end",
            "freeze.break_glass.approvals"
        ]
    );
}

#[test]
fn unknown_keys_are_refused() {
    for yaml in [
        "windows: [{ name: a, schedule: '0 0 * * *', duration: 1h, timezone: UTC }]",
        "freezes: []",
        "windows: [{ name: a, scope: { tenant: [acme] } }]",
    ] {
        assert!(
            serde_yaml_ng::from_str::<FreezeSpec>(yaml).is_err(),
            "{yaml}"
        );
    }
}

#[test]
fn schedules_parse_as_five_fields() {
    let ok = [
        "0 0 20 11 *",
        "30 2 * * *",
        "0 22 * * SAT",
        "*/15 9-17 * * MON-FRI",
        "@daily",
        "0 0 L * *",
    ];
    for s in ok {
        assert!(parse_schedule(s).is_ok(), "{s}");
    }
    let bad = [
        ("0 0 0 20 11 *", "invalid cron schedule"),
        ("0 0 20 11", "invalid cron schedule"),
        ("61 0 * * *", "invalid cron schedule"),
        ("", "invalid cron schedule"),
        ("0 0 30 2 *", "never fires"),
    ];
    for (s, want) in bad {
        let err = parse_schedule(s).expect_err(s);
        assert!(err.contains(want), "{s}: {err}");
    }
}
