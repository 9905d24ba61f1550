use super::*;
use BreachCause::{ErrorRate, Latency};
use Variant::{Canary, Stable};

const SEC: Duration = Duration::from_secs(1);

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v / 1000.0)
}

fn window() -> GuardWindow {
    GuardWindow::new(GuardSettings {
        window: Duration::from_secs(60),
        min_requests: 100,
        max_error_rate: 0.05,
        max_p99_ratio: 2.0,
    })
}

/// `n` responses of `v` at `at` taking `lat_ms`; every `err_every`-th is a 5xx (0: none).
fn feed(w: &mut GuardWindow, at: Duration, v: Variant, load: (u32, u32, f64)) {
    let (n, err_every, lat_ms) = load;
    for i in 0..n {
        w.record(
            at,
            v,
            err_every > 0 && i.is_multiple_of(err_every),
            ms(lat_ms),
        );
    }
}

fn short(canary: u64, stable: u64) -> Verdict {
    Verdict::Insufficient { canary, stable }
}

fn cause(v: Verdict) -> Option<BreachCause> {
    match v {
        Verdict::Breach { cause, .. } => Some(cause),
        _ => None,
    }
}

#[test]
fn verdicts_table() {
    // (name, canary (err_every, ms), stable (err_every, ms), expected breach); 200 each
    let cases = [
        ("healthy", (0, 20.0), (0, 20.0), None),
        ("canary 20 % 5xx", (5, 20.0), (0, 20.0), Some(ErrorRate)),
        ("both 20 % 5xx", (5, 20.0), (5, 20.0), None),
        ("canary 4 % < 5 %", (25, 20.0), (0, 20.0), None),
        ("canary 10x slower", (0, 200.0), (0, 20.0), Some(Latency)),
        ("canary 1.5x slower", (0, 30.0), (0, 20.0), None),
        ("sub-ms noise", (0, 0.5), (0, 0.05), None),
        ("errors first", (2, 500.0), (0, 20.0), Some(ErrorRate)),
    ];
    for (name, (ce, cl), (se, sl), want) in cases {
        let mut w = window();
        feed(&mut w, SEC, Canary, (200, ce, cl));
        feed(&mut w, SEC, Stable, (200, se, sl));
        let got = w.evaluate(2 * SEC);
        assert!(!matches!(got, Verdict::Insufficient { .. }), "{name}");
        assert_eq!(cause(got), want, "{name}: {got:?}");
    }
}

#[test]
fn breach_waits_for_min_requests_on_both_sides() {
    let mut w = window();
    feed(&mut w, SEC, Stable, (100, 0, 10.0));
    feed(&mut w, SEC, Canary, (99, 5, 10.0));
    assert_eq!(w.evaluate(SEC), short(99, 100));
    w.record(SEC, Canary, true, ms(10.0));
    assert_eq!(cause(w.evaluate(SEC)), Some(ErrorRate));

    let mut w = window();
    feed(&mut w, SEC, Canary, (500, 2, 10.0));
    feed(&mut w, SEC, Stable, (99, 0, 10.0));
    assert_eq!(w.evaluate(SEC), short(500, 99));
}

#[test]
fn healthy_canary_never_breaches_over_ten_minutes() {
    let mut w = window();
    let mut judged = 0;
    for s in 0..600u32 {
        for i in 0..50u32 {
            let v = if i.is_multiple_of(5) { Canary } else { Stable };
            let lat = ms(f64::from(5 + (i * 7 + s) % 40));
            w.record(SEC * s, v, (i + s).is_multiple_of(97), lat);
        }
        match w.evaluate(SEC * s) {
            v @ Verdict::Breach { .. } => panic!("breach at {s}s: {v:?}"),
            Verdict::Healthy(_) => judged += 1,
            Verdict::Insufficient { .. } => {}
        }
    }
    assert!(judged > 500, "judged only {judged} times");
}

#[test]
fn samples_older_than_the_window_drop_out() {
    let mut w = window();
    feed(&mut w, Duration::ZERO, Canary, (100, 0, 10.0));
    feed(&mut w, Duration::ZERO, Stable, (100, 0, 10.0));
    feed(&mut w, 30 * SEC, Canary, (100, 0, 10.0));
    feed(&mut w, 30 * SEC, Stable, (7, 0, 10.0));
    let v = w.evaluate(ms(59_999.0));
    assert!(matches!(v, Verdict::Healthy(s) if s.canary_requests == 200));
    assert_eq!(w.evaluate(60 * SEC), short(100, 7));
    assert_eq!(w.evaluate(90 * SEC), short(0, 0));
    assert_eq!(w.evaluate(3600 * SEC), short(0, 0));
}

#[test]
fn late_sample_does_not_clobber_a_newer_slot() {
    let mut w = window();
    w.record(61 * SEC, Canary, false, ms(1.0));
    w.record(SEC, Canary, false, ms(1.0)); // same ring slot, ten periods older
    assert_eq!(w.evaluate(61 * SEC), short(1, 0));
}

#[test]
fn bucket_values_within_ten_percent() {
    let mut us = 1.0_f64;
    while us < 500e6 {
        let d = Duration::from_secs_f64(us / 1e6);
        let got = bucket_value(bucket_of(d)).as_secs_f64();
        let err = (got - d.as_secs_f64()).abs() / d.as_secs_f64();
        assert!(err <= 0.10, "{us} µs -> {got} s ({err})");
        us *= 1.03;
    }
}

#[test]
fn p99_within_ten_percent_on_known_distributions() {
    let micros = |u: u32| f64::from(u) / 1e3;
    let slow_2pc = |i: u32| if i.is_multiple_of(50) { 400.0 } else { 5.0 };
    let square = |i: u32| f64::from(i * i) / 1e4;
    let cases: [(&str, Vec<f64>); 4] = [
        ("uniform ms", (1..=1000).map(f64::from).collect()),
        ("uniform µs", (1..=10_000).map(micros).collect()),
        ("2 % slow", (0..1000).map(slow_2pc).collect()),
        ("squares", (1..=2000).map(square).collect()),
    ];
    for (name, mut samples) in cases {
        let mut w = window();
        for v in &samples {
            w.record(SEC, Canary, false, ms(*v));
            w.record(SEC, Stable, false, ms(*v));
        }
        samples.sort_by(f64::total_cmp);
        let truth = samples[(samples.len() * 99).div_ceil(100) - 1];
        let Verdict::Healthy(stats) = w.evaluate(SEC) else {
            panic!("{name}: not healthy");
        };
        let got = stats.canary_p99.as_secs_f64() * 1000.0;
        let err = (got - truth).abs() / truth;
        assert!(err <= 0.10, "{name}: {got} vs {truth}");
        assert_eq!(stats.canary_p99, stats.stable_p99);
    }
}

#[test]
fn reset_forgets_everything() {
    let mut w = window();
    feed(&mut w, SEC, Canary, (200, 2, 10.0));
    feed(&mut w, SEC, Stable, (200, 0, 10.0));
    assert_eq!(cause(w.evaluate(SEC)), Some(ErrorRate));
    w.reset();
    assert_eq!(w.evaluate(SEC), short(0, 0));
    feed(&mut w, 2 * SEC, Canary, (100, 0, 10.0));
    feed(&mut w, 2 * SEC, Stable, (100, 0, 10.0));
    assert!(matches!(w.evaluate(2 * SEC), Verdict::Healthy(_)));
}

#[test]
fn labels_and_json() {
    assert_eq!(ErrorRate.as_str(), "error_rate");
    assert_eq!(Latency.as_str(), "latency");
    let stats = GuardStats {
        canary_requests: 3,
        stable_requests: 4,
        canary_error_rate: 0.5,
        stable_error_rate: 0.0,
        canary_p99: ms(12.5),
        stable_p99: Duration::ZERO,
    };
    let json = serde_json::to_value(stats).expect("serializes");
    let p99 = json["canary_p99_ms"].as_f64().expect("a number");
    assert!((p99 - 12.5).abs() < 1e-9, "{p99}");
    assert_eq!(json["stable_p99_ms"], 0.0);
    assert_eq!(json["canary_requests"], 3);
}
