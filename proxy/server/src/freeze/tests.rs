use super::*;
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0)
        .single()
        .expect("valid")
}

fn scope(tenants: &[&str], routes: &[&str]) -> ScopeRecord {
    ScopeRecord {
        tenants: tenants.iter().map(|s| s.to_string()).collect(),
        routes: routes.iter().map(|s| s.to_string()).collect(),
    }
}

fn glass(id: &str, s: ScopeRecord, active_at: Option<u32>) -> BreakGlass {
    BreakGlass {
        id: id.into(),
        scope: s,
        ttl_secs: 2 * 3600,
        reason: "hotfix".into(),
        ticket: "INC-1".into(),
        requested_by: "alice".into(),
        requested_at: at(10),
        approved_by: active_at.map(|_| "bob".into()),
        activated_at: active_at.map(at),
        revoked_by: None,
    }
}

fn state(glasses: Vec<BreakGlass>) -> FreezeState {
    let freeze = ManualFreeze {
        id: "freeze-1".into(),
        reason: "incident".into(),
        start: at(9),
        until: at(17),
        scope: scope(&["acme*"], &[]),
        by: "oncall".into(),
    };
    let raw_f = vec![(
        freeze.id.clone(),
        serde_json::to_string(&freeze).expect("json"),
    )];
    let raw_g: Vec<(String, String)> = glasses
        .iter()
        .map(|g| (g.id.clone(), serde_json::to_string(g).expect("json")))
        .collect();
    let (st, bad) = FreezeState::parse(raw_f, raw_g);
    assert!(bad.is_empty(), "{bad:?}");
    st
}

#[test]
fn break_glass_lifecycle() {
    let g = glass("bg-1", scope(&[], &[]), None);
    assert_eq!(g.status(at(11)), GlassStatus::Pending);
    assert_eq!(
        g.status(at(12)),
        GlassStatus::Expired,
        "never approved within its ttl"
    );
    let g = glass("bg-1", scope(&[], &[]), Some(11));
    assert_eq!(g.status(at(11)), GlassStatus::Active);
    assert_eq!(
        g.status(at(13)),
        GlassStatus::Expired,
        "ttl counts from activation"
    );
    let mut r = g.clone();
    r.revoked_by = Some("carol".into());
    assert_eq!(r.status(at(11)), GlassStatus::Revoked);
}

#[test]
fn the_gate_asks_the_calendar_then_break_glass() {
    let freeze = Freeze::default();
    let route = Target::route("odoo");
    let acme = Target {
        route: Some("odoo"),
        tenant: Some("acme-eu"),
    };
    let globex = Target {
        route: Some("odoo"),
        tenant: Some("globex"),
    };
    let st = state(vec![]);
    assert!(
        matches!(gate(&freeze, &st, at(12), &route), Gate::Frozen(a) if a.window == "freeze-1" && a.end == at(17)),
        "a route-wide change reaches acme"
    );
    assert!(matches!(gate(&freeze, &st, at(12), &acme), Gate::Frozen(_)));
    assert_eq!(gate(&freeze, &st, at(12), &globex), Gate::Open);
    assert_eq!(
        gate(&freeze, &st, at(17), &acme),
        Gate::Open,
        "end is exclusive"
    );
    assert!(matches!(gate(&freeze, &st, at(8), &acme), Gate::Open));

    let st = state(vec![glass("bg-acme", scope(&["acme*"], &[]), Some(11))]);
    assert_eq!(
        gate(&freeze, &st, at(12), &acme),
        Gate::Exempt("bg-acme".into())
    );
    assert!(
        matches!(gate(&freeze, &st, at(12), &route), Gate::Frozen(_)),
        "wider than the exemption"
    );
    assert!(
        matches!(gate(&freeze, &st, at(13), &acme), Gate::Frozen(_)),
        "expired"
    );
    let st = state(vec![glass("bg-pending", scope(&[], &[]), None)]);
    assert!(
        matches!(gate(&freeze, &st, at(11), &acme), Gate::Frozen(_)),
        "pending exempts nothing"
    );
}

#[test]
fn ids_are_prefixed_and_distinct() {
    let (a, b) = (new_id("bg"), new_id("bg"));
    assert!(a.starts_with("bg-") && a.len() == 15, "{a}");
    assert_ne!(a, b);
}
