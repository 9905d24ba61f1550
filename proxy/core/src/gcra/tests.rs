use super::*;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

fn lim(limit: u32, per_secs: u64, burst: u32) -> Limit {
    Limit {
        rate: Rate {
            limit,
            per: Duration::from_secs(per_secs),
        },
        burst,
    }
}

/// A tiny deterministic generator (Knuth's MMIX LCG); the high bits are the good ones.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A limiter with its stored TAT and an injected clock.
struct Key {
    limit: Limit,
    tat: Option<u64>,
}

impl Key {
    fn new(limit: Limit) -> Self {
        Key { limit, tat: None }
    }

    fn hit(&mut self, now: u64, cost: u32) -> Decision {
        let d = check(&self.limit, self.tat, now, cost);
        if d.allowed {
            self.tat = Some(d.new_tat);
        } else {
            assert_eq!(
                d.new_tat,
                self.tat.unwrap_or(now),
                "refusal must not move the TAT"
            );
        }
        d
    }
}

const LIMITS: [(u32, u64, u32); 8] = [
    (20, 1, 40),
    (200, 1, 400),
    (50, 1, 100),
    (5, 1, 50),
    (1200, 60, 1),
    (3, 1, 1),
    (7, 1, 3),
    (1, 3600, 2),
];

#[test]
fn emission_interval_and_tolerance() {
    let cases = [
        // (limit, per, burst, T ns, τ ns, window)
        (20, 1, 40, 50 * MS, 39 * 50 * MS, Duration::from_secs(2)),
        (200, 1, 400, 5 * MS, 399 * 5 * MS, Duration::from_secs(2)),
        (1200, 60, 1, 50 * MS, 0, Duration::from_millis(50)),
        // 1/3 s is not a whole number of nanoseconds: rounded up, never more permissive.
        (
            3,
            1,
            2,
            333_333_334,
            333_333_334,
            Duration::from_nanos(666_666_668),
        ),
        (
            1,
            3600,
            2,
            3600 * SEC,
            3600 * SEC,
            Duration::from_secs(7200),
        ),
    ];
    for (limit, per, burst, t, tau, window) in cases {
        let l = lim(limit, per, burst);
        assert_eq!(l.emission_interval_ns(), u128::from(t), "{l:?}");
        assert_eq!(l.tolerance_ns(), u128::from(tau), "{l:?}");
        assert_eq!(l.window(), window, "{l:?}");
    }
}

#[test]
fn burst_at_once_then_refused() {
    for (limit, per, burst) in LIMITS {
        let mut k = Key::new(lim(limit, per, burst));
        let now = 1_000 * SEC;
        for i in 0..burst {
            let d = k.hit(now, 1);
            assert!(d.allowed, "{limit}/{per}s burst {burst}: request {i}");
            assert_eq!(d.remaining, burst - i - 1);
        }
        let d = k.hit(now, 1);
        assert!(!d.allowed, "{limit}/{per}s burst {burst}: request {burst}");
        assert_eq!(d.remaining, 0);
        let t = k.limit.emission_interval_ns();
        assert_eq!(d.retry_after, from_ns(t), "one cell drains per T");
    }
}

#[test]
fn steady_traffic_at_the_rate_is_never_refused() {
    for (limit, per, burst) in LIMITS {
        let l = lim(limit, per, burst);
        let t = u64::try_from(l.emission_interval_ns()).expect("small");
        let mut k = Key::new(l);
        for i in 0..5_000u64 {
            let d = k.hit(7 * SEC + i * t, 1);
            assert!(d.allowed, "{l:?}: request {i}");
            assert_eq!(d.remaining, burst - 1, "{l:?}: request {i}");
        }
    }
}

#[test]
fn remaining_and_reset_table() {
    // 20/s, burst 40: T = 50 ms. Steps on one key: (at ms, cost, allowed, remaining, reset ms,
    // retry ms).
    let steps: [(u64, u32, bool, u32, u64, u64); 9] = [
        (0, 1, true, 39, 50, 0),
        (0, 9, true, 30, 500, 0),
        (100, 0, true, 32, 400, 0),
        (100, 30, true, 2, 1_900, 0),
        (100, 3, false, 2, 1_900, 50),
        (150, 3, true, 0, 2_000, 0),
        (150, 1, false, 0, 2_000, 50),
        (1_150, 1, true, 19, 1_050, 0),
        (5_000, 0, true, 40, 0, 0),
    ];
    let mut k = Key::new(lim(20, 1, 40));
    for (i, (at, cost, allowed, remaining, reset, retry)) in steps.into_iter().enumerate() {
        let d = k.hit(at * MS, cost);
        let want = (
            allowed,
            remaining,
            Duration::from_millis(reset),
            Duration::from_millis(retry),
        );
        assert_eq!(
            (d.allowed, d.remaining, d.reset_after, d.retry_after),
            want,
            "step {i}"
        );
    }
}

#[test]
fn cost_above_burst_is_never_admitted() {
    let cases = [
        (lim(20, 1, 40), None, 41),
        (lim(20, 1, 40), Some(0), 1_000),
        (lim(1, 1, 1), Some(5 * SEC), 2),
        (lim(20, 1, 0), None, 1),
        (lim(0, 1, 10), None, 1),
    ];
    for (l, tat, cost) in cases {
        for now in [0, SEC, 100 * SEC] {
            let d = check(&l, tat, now, cost);
            assert!(!d.allowed && d.never(), "{l:?} cost {cost}");
            assert_eq!(d.retry_after, Duration::MAX);
            assert_eq!(retry_after_secs(&d), u64::MAX);
            assert_eq!(d.new_tat, tat.unwrap_or(now), "the TAT is untouched");
            if l.burst == 0 || l.rate.limit == 0 {
                assert_eq!(d.remaining, 0, "{l:?}: nothing can ever pass");
            }
        }
    }
    // An ordinary refusal is not "never".
    let d = check(&lim(1, 1, 1), Some(10 * SEC), 9 * SEC, 1);
    assert!(!d.allowed && !d.never());
}

#[test]
fn retry_after_secs_rounds_up() {
    let d = |allowed: bool, retry: Duration| Decision {
        allowed,
        new_tat: 0,
        remaining: 0,
        reset_after: Duration::ZERO,
        retry_after: retry,
    };
    let cases = [
        (true, Duration::ZERO, 0),
        (false, Duration::ZERO, 1),
        (false, Duration::from_nanos(1), 1),
        (false, Duration::from_millis(999), 1),
        (false, Duration::from_secs(1), 1),
        (false, Duration::from_millis(1_001), 2),
        (false, Duration::from_secs(3_600), 3_600),
        (false, Duration::MAX, u64::MAX),
    ];
    for (allowed, retry, want) in cases {
        assert_eq!(retry_after_secs(&d(allowed, retry)), want, "{retry:?}");
    }
}

#[test]
fn header_values() {
    let dhl = lim(20, 1, 40);
    let mut k = Key::new(dhl);
    for _ in 0..40 {
        k.hit(0, 1);
    }
    let refused = k.hit(0, 1);
    assert_eq!(
        headers("dhl", &dhl, &refused),
        ("\"dhl\";q=40;w=2".to_owned(), "\"dhl\";r=0;t=2".to_owned())
    );
    // One second later half the bucket has drained: full again in 1 s.
    let later = check(&dhl, k.tat, SEC, 0);
    assert_eq!(headers("dhl", &dhl, &later).1, "\"dhl\";r=20;t=1");
    let edi = lim(5, 1, 50);
    let first = check(&edi, None, 0, 1);
    assert_eq!(
        headers("edi-gateway", &edi, &first),
        (
            "\"edi-gateway\";q=50;w=10".to_owned(),
            "\"edi-gateway\";r=49;t=1".to_owned()
        )
    );
    let odd = lim(3, 1, 2);
    let (policy, _) = headers("a\"b\\c\u{e9}", &odd, &first);
    assert_eq!(policy, "\"a\\\"b\\\\c?\";q=2;w=1");
}

#[test]
fn clock_stepped_back_waits() {
    let l = lim(10, 1, 10);
    // A TAT 5 s ahead of the clock: a full window (1 s) plus 4 s of drift.
    let d = check(&l, Some(105 * SEC), 100 * SEC, 1);
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
    assert_eq!(d.reset_after, Duration::from_secs(5));
    assert_eq!(d.retry_after, Duration::from_millis(4_100));
}

#[test]
fn huge_times_saturate_instead_of_wrapping() {
    let l = lim(1, 3600, 40);
    let d = check(&l, Some(u64::MAX - SEC), u64::MAX - SEC, 40);
    assert!(d.allowed);
    assert_eq!(d.new_tat, u64::MAX);
}

mod properties;
