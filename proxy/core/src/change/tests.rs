use super::*;

#[test]
fn weight_changes() {
    let w = |p: f64| Weight::from_percent(p).expect("valid");
    assert_eq!(canary_weight(w(5.0), w(10.0)), Risk::Increasing);
    assert_eq!(canary_weight(w(10.0), w(0.0)), Risk::Reducing);
    assert_eq!(canary_weight(w(10.0), w(9.99)), Risk::Reducing);
    assert_eq!(canary_weight(w(10.0), w(10.0)), Risk::Neutral);
}

struct NoEnv;

impl crate::config::Env for NoEnv {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
    fn read_file(&self, p: &std::path::Path) -> std::io::Result<String> {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            p.display().to_string(),
        ))
    }
}

const BASE: &str = r#"
server: { listen: 127.0.0.1:8080 }
pools:
  odoo-stable: { endpoints: [http://127.0.0.1:8069] }
  odoo-canary: { endpoints: [http://127.0.0.1:8070] }
  odoo-next: { endpoints: [http://127.0.0.1:8072] }
  acme-dedicated: { endpoints: [http://127.0.0.1:8071] }
tenants:
  identify: [{ host: "{tenant}.erp.example.com" }]
  list: { acme: {}, globex: {}, initech: {} }
routes:
  - name: odoo
    match: { host: "*.erp.example.com" }
    upstream: { stable: odoo-stable, canary: odoo-canary }
    canary: { weight: 5, pilot_tenants: [globex], excluded_tenants: [acme] }
"#;

type Row = (Kind, Risk, Option<String>, Option<String>);

fn diff(new: &str) -> Vec<Row> {
    let load = |y: &str| crate::config::load(y, &NoEnv).expect("compiles");
    reload_diff(&load(BASE), &load(new), &Default::default())
        .into_iter()
        .map(|c| (c.kind, c.risk, c.route, c.tenant))
        .collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn weights_are_judged_from_what_is_in_force() {
    let load = |y: &str| crate::config::load(y, &NoEnv).expect("compiles");
    let rolled_back = std::collections::BTreeMap::from([("odoo".to_owned(), Weight::ZERO)]);
    // Config 5 → 3 while an override holds 0: the reload would raise the weight in force.
    let d = reload_diff(
        &load(BASE),
        &load(&BASE.replace("weight: 5", "weight: 3")),
        &rolled_back,
    );
    assert_eq!(
        (d[0].kind, d[0].risk),
        (Kind::CanaryWeight, Risk::Increasing),
        "{d:?}"
    );
    // A reload that keeps the config value keeps the override: nothing changes.
    let same = reload_diff(&load(BASE), &load(BASE), &rolled_back);
    assert!(same.is_empty(), "{same:?}");
}

#[test]
fn every_change_kind_of_a_reload_is_classified() {
    use Kind::*;
    use Risk::*;
    let cases: Vec<(String, Vec<Row>)> = vec![
        (BASE.to_owned(), vec![]),
        (
            BASE.replace("weight: 5", "weight: 10"),
            vec![(CanaryWeight, Increasing, some("odoo"), None)],
        ),
        (
            BASE.replace("weight: 5", "weight: 1"),
            vec![(CanaryWeight, Reducing, some("odoo"), None)],
        ),
        (
            BASE.replace("[globex]", "[globex, initech]"),
            vec![(Pilot, Increasing, some("odoo"), some("initech"))],
        ),
        (
            BASE.replace("pilot_tenants: [globex], ", ""),
            vec![(Pilot, Reducing, some("odoo"), some("globex"))],
        ),
        (
            BASE.replace(", excluded_tenants: [acme]", ""),
            vec![(Excluded, Increasing, some("odoo"), some("acme"))],
        ),
        (
            BASE.replace("acme: {}", "acme: { upstream: { stable: acme-dedicated } }"),
            vec![(TenantPool, Increasing, None, some("acme"))],
        ),
        (
            BASE.replace("stable: odoo-stable,", "stable: odoo-next,"),
            vec![(RoutePool, Increasing, some("odoo"), None)],
        ),
        (
            BASE.replace("canary: odoo-canary", "canary: odoo-next"),
            vec![(CanaryPool, Increasing, some("odoo"), None)],
        ),
        // A config that only tightens and adds unrelated things is all risk-reducing/neutral.
        (
            BASE.replace("weight: 5", "weight: 0")
                .replace("[acme]", "[acme, initech]"),
            vec![
                (CanaryWeight, Reducing, some("odoo"), None),
                (Excluded, Reducing, some("odoo"), some("initech")),
            ],
        ),
    ];
    for (new, want) in cases {
        assert_eq!(diff(&new), want, "{new}");
    }
}
