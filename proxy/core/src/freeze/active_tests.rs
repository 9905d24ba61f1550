//! Tests of what is frozen: the freeze in force and its real end (overlapping and abutting
//! windows, manual windows, a calendar that never unfreezes) and the status listing.

use super::tests::{every, utc};
use super::*;
use chrono::TimeDelta;
use chrono_tz::Tz;

fn globs(list: &[&str]) -> Vec<Glob> {
    list.iter()
        .map(|g| Glob::new(g).expect("test glob"))
        .collect()
}

fn scope(tenants: &[&str], routes: &[&str]) -> Scope {
    Scope::new(globs(tenants), globs(routes))
}

fn fixed(name: &str, start: &str, end: &str, scope: Scope) -> Window {
    Window::fixed(name, utc(start), utc(end), scope)
}

fn target<'a>(route: Option<&'a str>, tenant: Option<&'a str>) -> Target<'a> {
    Target { route, tenant }
}

#[test]
fn active_reports_the_latest_ending_covering_window() {
    let freeze = Freeze {
        windows: vec![
            fixed(
                "short",
                "2026-06-01T10:00:00Z",
                "2026-06-01T11:00:00Z",
                Scope::all(),
            ),
            fixed(
                "long",
                "2026-06-01T09:00:00Z",
                "2026-06-01T13:00:00Z",
                Scope::all(),
            ),
            fixed(
                "acme-only",
                "2026-06-01T08:00:00Z",
                "2026-06-01T20:00:00Z",
                scope(&["acme"], &[]),
            ),
        ],
        ..Freeze::default()
    };
    let now = utc("2026-06-01T10:30:00Z");
    let globex = target(Some("odoo"), Some("globex"));
    let want = Active {
        window: "long".into(),
        start: utc("2026-06-01T09:00:00Z"),
        end: utc("2026-06-01T13:00:00Z"),
    };
    assert_eq!(freeze.active(now, &globex, &[]), Some(want));
    let acme = freeze
        .active(now, &target(Some("odoo"), Some("acme")), &[])
        .expect("frozen");
    assert_eq!(
        (acme.window.as_str(), acme.end),
        ("acme-only", utc("2026-06-01T20:00:00Z"))
    );
    assert_eq!(
        freeze.active(utc("2026-06-01T13:00:00Z"), &globex, &[]),
        None
    );
    assert_eq!(Freeze::default().active(now, &Target::ALL, &[]), None);
}

#[test]
fn end_follows_overlapping_and_abutting_windows() {
    let windows = vec![
        fixed(
            "a",
            "2026-06-01T10:00:00Z",
            "2026-06-01T12:00:00Z",
            Scope::all(),
        ),
        fixed(
            "b-abuts-a",
            "2026-06-01T12:00:00Z",
            "2026-06-01T14:00:00Z",
            Scope::all(),
        ),
        fixed(
            "c-overlaps-b",
            "2026-06-01T13:00:00Z",
            "2026-06-01T15:00:00Z",
            Scope::all(),
        ),
        fixed(
            "d-one-second-later",
            "2026-06-01T15:00:01Z",
            "2026-06-01T18:00:00Z",
            Scope::all(),
        ),
        fixed(
            "e-globex-only",
            "2026-06-01T14:30:00Z",
            "2026-06-01T16:00:00Z",
            scope(&["globex"], &[]),
        ),
    ];
    let freeze = Freeze {
        windows,
        ..Freeze::default()
    };
    let acme = target(Some("odoo"), Some("acme"));
    let globex = target(Some("odoo"), Some("globex"));
    // (now, target, window named, end)
    let cases: &[(&str, &Target<'_>, &str, &str)] = &[
        ("2026-06-01T10:30:00Z", &acme, "a", "2026-06-01T15:00:00Z"),
        (
            "2026-06-01T12:00:00Z",
            &acme,
            "b-abuts-a",
            "2026-06-01T15:00:00Z",
        ),
        (
            "2026-06-01T13:30:00Z",
            &acme,
            "c-overlaps-b",
            "2026-06-01T15:00:00Z",
        ),
        // For globex, e bridges c to d, which starts one second after c ends.
        ("2026-06-01T10:30:00Z", &globex, "a", "2026-06-01T18:00:00Z"),
        (
            "2026-06-01T15:00:01Z",
            &acme,
            "d-one-second-later",
            "2026-06-01T18:00:00Z",
        ),
    ];
    for (now, t, name, end) in cases {
        let got = freeze.active(utc(now), t, &[]).expect("frozen");
        assert_eq!(
            (got.window.as_str(), got.end),
            (*name, utc(end)),
            "at {now} for {t:?}"
        );
    }
    assert_eq!(freeze.active(utc("2026-06-01T15:00:00Z"), &acme, &[]), None);
}

#[test]
fn manual_windows_join_and_extend_the_freeze() {
    let freeze = Freeze {
        windows: vec![every("nightly", "0 2 * * *", 2, Tz::UTC)],
        ..Freeze::default()
    };
    let stop = [fixed(
        "stop-the-line",
        "2026-06-01T03:00:00Z",
        "2026-06-01T09:00:00Z",
        Scope::all(),
    )];
    let now = utc("2026-06-01T02:30:00Z");
    let got = freeze.active(now, &Target::ALL, &stop).expect("frozen");
    assert_eq!(
        (got.window.as_str(), got.start, got.end),
        (
            "nightly",
            utc("2026-06-01T02:00:00Z"),
            utc("2026-06-01T09:00:00Z")
        )
    );
    let got = freeze
        .active(utc("2026-06-01T05:00:00Z"), &Target::ALL, &stop)
        .expect("frozen");
    assert_eq!(got.window, "stop-the-line");
    // A recurring occurrence that starts exactly at a manual window's end extends it.
    let bridge = [fixed(
        "bridge",
        "2026-06-01T22:00:00Z",
        "2026-06-02T02:00:00Z",
        Scope::all(),
    )];
    let got = freeze
        .active(utc("2026-06-01T23:00:00Z"), &Target::ALL, &bridge)
        .expect("frozen");
    assert_eq!(got.end, utc("2026-06-02T04:00:00Z"));
}

#[test]
fn a_calendar_frozen_without_pause_stops_after_max_chain_links() {
    // 25h every 24h never unfreezes: each link moves the end by one day.
    let freeze = Freeze {
        windows: vec![every("always", "0 0 * * *", 25, Tz::UTC)],
        ..Freeze::default()
    };
    let got = freeze
        .active(utc("2026-06-01T12:00:00Z"), &Target::ALL, &[])
        .expect("frozen");
    let first_end = utc("2026-06-02T01:00:00Z");
    assert_eq!(got.end, first_end + TimeDelta::days(MAX_CHAIN as i64));
}

#[test]
fn upcoming_lists_active_and_next_occurrences_in_start_order() {
    let freeze = Freeze {
        windows: vec![
            every(
                "peak-season",
                "0 0 20 11 *",
                288,
                chrono_tz::America::Chicago,
            ),
            fixed(
                "year-end-close",
                "2026-12-28T00:00:00+01:00",
                "2027-01-04T00:00:00+01:00",
                scope(&["acme"], &[]),
            ),
            fixed(
                "past",
                "2026-01-01T00:00:00Z",
                "2026-01-02T00:00:00Z",
                Scope::all(),
            ),
        ],
        ..Freeze::default()
    };
    let stop = [fixed(
        "stop",
        "2026-11-27T00:00:00Z",
        "2026-11-28T00:00:00Z",
        Scope::all(),
    )];
    let got = freeze.upcoming(utc("2026-11-27T12:00:00Z"), &stop, 10);
    let want = [
        (
            "peak-season",
            "2026-11-20T06:00:00Z",
            "2026-12-02T06:00:00Z",
        ),
        ("stop", "2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"),
        (
            "year-end-close",
            "2026-12-27T23:00:00Z",
            "2027-01-03T23:00:00Z",
        ),
        (
            "peak-season",
            "2027-11-20T06:00:00Z",
            "2027-12-02T06:00:00Z",
        ),
    ]
    .map(|(n, s, e)| (n.to_owned(), utc(s), utc(e)));
    assert_eq!(got, want);
    assert_eq!(
        freeze.upcoming(utc("2026-11-27T12:00:00Z"), &stop, 2),
        want[..2]
    );
}
