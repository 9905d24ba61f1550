//! Calendar tests: DST in two zones, occurrence edges, the SPEC example, and agreement between
//! the backward (`occurrence_at`) and forward (`next_after`) searches.

use super::*;
use chrono::TimeDelta;
use chrono_tz::Tz;

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&Utc)
}

pub(super) fn every(name: &str, cron: &str, hours: u64, zone: Tz) -> Window {
    let schedule = parse_schedule(cron).expect("test schedule");
    Window::recurring(
        name,
        schedule,
        Duration::from_secs(hours * 3600),
        zone,
        Scope::all(),
    )
}

type Span = (DateTime<Utc>, DateTime<Utc>);

fn span(start: &str, end: &str) -> Option<Span> {
    Some((utc(start), utc(end)))
}

const CHICAGO: Tz = chrono_tz::America::Chicago;
const BERLIN: Tz = chrono_tz::Europe::Berlin;

// 2026: Chicago springs forward 8 Mar 02:00 CST -> 03:00 CDT and falls back 1 Nov
// 02:00 CDT -> 01:00 CST; Berlin springs forward 29 Mar 02:00 CET -> 03:00 CEST and falls
// back 25 Oct 03:00 CEST -> 02:00 CET.

#[test]
fn daily_fire_times_across_dst_in_two_zones() {
    // (zone, schedule, asked after, expected next occurrence (start, end) in UTC, why)
    let cases: &[(Tz, &str, &str, Option<Span>, &str)] = &[
        (
            CHICAGO,
            "30 2 * * *",
            "2026-03-07T00:00:00Z",
            span("2026-03-07T08:30:00Z", "2026-03-07T09:30:00Z"),
            "CST day before",
        ),
        (
            CHICAGO,
            "30 2 * * *",
            "2026-03-07T12:00:00Z",
            span("2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z"),
            "02:30 skipped: fires 03:00 CDT",
        ),
        (
            CHICAGO,
            "30 2 * * *",
            "2026-03-08T12:00:00Z",
            span("2026-03-09T07:30:00Z", "2026-03-09T08:30:00Z"),
            "CDT day after",
        ),
        (
            CHICAGO,
            "30 1 * * *",
            "2026-10-31T12:00:00Z",
            span("2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"),
            "01:30 repeated: fires once, CDT",
        ),
        (
            CHICAGO,
            "30 1 * * *",
            "2026-11-01T06:30:00Z",
            span("2026-11-02T07:30:00Z", "2026-11-02T08:30:00Z"),
            "no second fire at 01:30 CST",
        ),
        (
            CHICAGO,
            "30 2 * * *",
            "2026-10-31T12:00:00Z",
            span("2026-11-01T08:30:00Z", "2026-11-01T09:30:00Z"),
            "02:30 after fall back is CST",
        ),
        (
            BERLIN,
            "30 2 * * *",
            "2026-03-27T12:00:00Z",
            span("2026-03-28T01:30:00Z", "2026-03-28T02:30:00Z"),
            "CET day before",
        ),
        (
            BERLIN,
            "30 2 * * *",
            "2026-03-28T12:00:00Z",
            span("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"),
            "02:30 skipped: fires 03:00 CEST",
        ),
        (
            BERLIN,
            "30 2 * * *",
            "2026-03-29T12:00:00Z",
            span("2026-03-30T00:30:00Z", "2026-03-30T01:30:00Z"),
            "CEST day after",
        ),
        (
            BERLIN,
            "30 2 * * *",
            "2026-10-24T12:00:00Z",
            span("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"),
            "02:30 repeated: fires once, CEST",
        ),
        (
            BERLIN,
            "30 2 * * *",
            "2026-10-25T00:30:00Z",
            span("2026-10-26T01:30:00Z", "2026-10-26T02:30:00Z"),
            "no second fire at 02:30 CET",
        ),
    ];
    for (zone, cron, after, want, why) in cases {
        let w = every("w", cron, 1, *zone);
        assert_eq!(
            w.next_after(utc(after)),
            *want,
            "{zone} {cron} after {after}: {why}"
        );
    }
}

#[test]
fn occurrence_covering_now_across_dst() {
    // (zone, schedule, duration hours, now, covering occurrence, why)
    type Case<'a> = (Tz, &'a str, u64, &'a str, Option<Span>, &'a str);
    let cases: &[Case<'_>] = &[
        (
            CHICAGO,
            "30 2 * * *",
            1,
            "2026-03-08T08:00:00Z",
            span("2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z"),
            "gap fire starts at 03:00 CDT",
        ),
        (
            CHICAGO,
            "30 2 * * *",
            1,
            "2026-03-08T07:59:59Z",
            None,
            "01:59:59 CST: not yet",
        ),
        (
            CHICAGO,
            "30 1 * * *",
            1,
            "2026-11-01T07:15:00Z",
            span("2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"),
            "01:15 CST, inside the CDT fire",
        ),
        (
            CHICAGO,
            "30 1 * * *",
            1,
            "2026-11-01T07:45:00Z",
            None,
            "01:45 CST: the repeated 01:30 did not fire",
        ),
        (
            BERLIN,
            "30 2 * * *",
            1,
            "2026-03-29T01:30:00Z",
            span("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"),
            "03:30 CEST",
        ),
        (
            BERLIN,
            "30 2 * * *",
            1,
            "2026-10-25T01:45:00Z",
            None,
            "02:45 CET: the repeated 02:30 did not fire",
        ),
        (
            BERLIN,
            "30 2 * * *",
            2,
            "2026-10-25T01:45:00Z",
            span("2026-10-25T00:30:00Z", "2026-10-25T02:30:00Z"),
            "2h elapsed from 02:30 CEST",
        ),
        // Weekly Saturday 22:00 for 12h spans the Sunday change: 12 elapsed hours are 13 on
        // the wall clock in spring and 11 in autumn.
        (
            CHICAGO,
            "0 22 * * SAT",
            12,
            "2026-03-08T12:00:00Z",
            span("2026-03-08T04:00:00Z", "2026-03-08T16:00:00Z"),
            "22:00 CST to 11:00 CDT",
        ),
        (
            CHICAGO,
            "0 22 * * SAT",
            12,
            "2026-11-01T12:00:00Z",
            span("2026-11-01T03:00:00Z", "2026-11-01T15:00:00Z"),
            "22:00 CDT to 09:00 CST",
        ),
        (
            BERLIN,
            "0 22 * * SAT",
            12,
            "2026-03-29T08:59:59Z",
            span("2026-03-28T21:00:00Z", "2026-03-29T09:00:00Z"),
            "22:00 CET to 11:00 CEST",
        ),
        (
            BERLIN,
            "0 22 * * SAT",
            12,
            "2026-03-29T09:00:00Z",
            None,
            "11:00 CEST: over",
        ),
        (
            BERLIN,
            "0 22 * * SAT",
            12,
            "2026-10-25T07:00:00Z",
            span("2026-10-24T20:00:00Z", "2026-10-25T08:00:00Z"),
            "22:00 CEST to 09:00 CET",
        ),
    ];
    for (zone, cron, hours, now, want, why) in cases {
        let w = every("w", cron, *hours, *zone);
        assert_eq!(
            w.occurrence_at(utc(now)),
            *want,
            "{zone} {cron} at {now}: {why}"
        );
    }
}

#[test]
fn weekly_starts_keep_the_wall_clock_across_the_change() {
    let w = every("w", "0 22 * * SAT", 12, CHICAGO);
    let mut now = utc("2026-02-28T12:00:00Z");
    let mut starts = Vec::new();
    for _ in 0..3 {
        let (s, _) = w.next_after(now).expect("fires weekly");
        starts.push(s);
        now = s;
    }
    let want = [
        "2026-03-01T04:00:00Z",
        "2026-03-08T04:00:00Z",
        "2026-03-15T03:00:00Z",
    ];
    assert_eq!(starts, want.map(utc));
}

#[test]
fn spec_peak_season_example() {
    // 20 Nov 2026 00:00 CST (UTC-6, after the 1 Nov fall back) = 06:00Z; 288h = 12 days.
    let w = every("peak-season", "0 0 20 11 *", 288, CHICAGO);
    let occ = span("2026-11-20T06:00:00Z", "2026-12-02T06:00:00Z");
    let cases: &[(&str, Option<Span>)] = &[
        ("2026-11-27T12:00:00Z", occ),
        ("2026-12-03T12:00:00Z", None),
        ("2026-11-20T05:59:59Z", None),
        ("2026-11-20T06:00:00Z", occ),
        ("2026-12-02T05:59:59Z", occ),
        ("2026-12-02T06:00:00Z", None),
        (
            "2027-11-25T00:00:00Z",
            span("2027-11-20T06:00:00Z", "2027-12-02T06:00:00Z"),
        ),
    ];
    for (now, want) in cases {
        assert_eq!(w.occurrence_at(utc(now)), *want, "at {now}");
    }
    assert_eq!(
        w.next_after(utc("2026-11-27T12:00:00Z")),
        span("2027-11-20T06:00:00Z", "2027-12-02T06:00:00Z")
    );
}

#[test]
fn edges_are_start_inclusive_end_exclusive() {
    let fixed = Window::fixed(
        "year-end-close",
        utc("2026-12-28T00:00:00+01:00"),
        utc("2027-01-04T00:00:00+01:00"),
        Scope::all(),
    );
    let daily = every("nightly", "0 2 * * *", 2, Tz::UTC);
    let fixed_occ = span("2026-12-27T23:00:00Z", "2027-01-03T23:00:00Z");
    let daily_occ = span("2026-06-01T02:00:00Z", "2026-06-01T04:00:00Z");
    let cases: &[(&Window, &str, Option<Span>)] = &[
        (&fixed, "2026-12-27T22:59:59Z", None),
        (&fixed, "2026-12-27T23:00:00Z", fixed_occ),
        (&fixed, "2026-12-27T23:00:01Z", fixed_occ),
        (&fixed, "2027-01-03T22:59:59Z", fixed_occ),
        (&fixed, "2027-01-03T23:00:00Z", None),
        (&daily, "2026-06-01T01:59:59Z", None),
        (&daily, "2026-06-01T02:00:00Z", daily_occ),
        (&daily, "2026-06-01T03:59:59Z", daily_occ),
        (&daily, "2026-06-01T04:00:00Z", None),
    ];
    for (w, now, want) in cases {
        assert_eq!(w.occurrence_at(utc(now)), *want, "{} at {now}", w.name);
    }
    let cases: &[(&Window, &str, Option<Span>)] = &[
        (&fixed, "2026-12-27T22:59:59Z", fixed_occ),
        (&fixed, "2026-12-27T23:00:00Z", None),
        (&daily, "2026-06-01T01:59:59Z", daily_occ),
        (
            &daily,
            "2026-06-01T02:00:00Z",
            span("2026-06-02T02:00:00Z", "2026-06-02T04:00:00Z"),
        ),
    ];
    for (w, now, want) in cases {
        assert_eq!(w.next_after(utc(now)), *want, "{} next after {now}", w.name);
    }
    let empty = Window::fixed(
        "empty",
        utc("2026-01-02T00:00:00Z"),
        utc("2026-01-01T00:00:00Z"),
        Scope::all(),
    );
    assert_eq!(empty.occurrence_at(utc("2026-01-01T12:00:00Z")), None);
    assert_eq!(empty.next_after(utc("2025-12-01T00:00:00Z")), None);
}

#[test]
fn overlapping_occurrences_of_one_window_report_the_latest() {
    // Daily at 00:00 for 36h: at 06:00 the previous day's and today's occurrences overlap.
    let w = every("w", "0 0 * * *", 36, Tz::UTC);
    assert_eq!(
        w.occurrence_at(utc("2026-06-02T06:00:00Z")),
        span("2026-06-02T00:00:00Z", "2026-06-03T12:00:00Z")
    );
}

#[test]
fn backward_and_forward_searches_agree_around_transitions() {
    // For every fire from just before to just after each change: the fire starts an
    // occurrence, the second before it is not in that occurrence, and the next fire after
    // that second is this one. Covers fixed patterns and an interval one.
    let days = [
        (CHICAGO, "2026-03-07T00:00:00Z"),
        (CHICAGO, "2026-10-31T00:00:00Z"),
        (BERLIN, "2026-03-28T00:00:00Z"),
        (BERLIN, "2026-10-24T00:00:00Z"),
    ];
    let crons = [
        "30 2 * * *",
        "30 1 * * *",
        "0 3 * * *",
        "0 22 * * SAT",
        "*/20 * * * *",
    ];
    for (zone, from) in days {
        for cron in crons {
            let w = Window::recurring(
                "w",
                parse_schedule(cron).expect("valid"),
                Duration::from_secs(60),
                zone,
                Scope::all(),
            );
            let (mut now, until) = (utc(from), utc(from) + TimeDelta::days(3));
            let mut fires = 0;
            while let Some((s, e)) = w.next_after(now).filter(|(s, _)| *s < until) {
                let before = s - TimeDelta::seconds(1);
                assert_eq!(w.occurrence_at(s), Some((s, e)), "{zone} {cron} at {s}");
                assert_ne!(
                    w.occurrence_at(before).map(|o| o.0),
                    Some(s),
                    "{zone} {cron} before {s}"
                );
                assert_eq!(
                    w.next_after(before),
                    Some((s, e)),
                    "{zone} {cron} next before {s}"
                );
                now = s;
                fires += 1;
            }
            assert!(fires > 0, "{zone} {cron} never fired after {from}");
        }
    }
}
