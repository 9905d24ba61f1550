//! Property-style checks over deterministic pseudo-random arrival patterns.

use super::*;

/// One arrival: time, cost, decision, and the TAT it was decided against.
struct Step {
    now: u64,
    cost: u32,
    tat: Option<u64>,
    d: Decision,
}

/// Drives one key with gaps mixing bursts, jitter around the rate and idle periods.
fn run(l: Limit, seed: u64, n: usize) -> Vec<Step> {
    let t = u64::try_from(l.emission_interval_ns()).expect("small");
    let mut rng = Lcg(seed);
    let mut k = Key::new(l);
    let mut now = rng.below(10 * SEC);
    let mut steps = Vec::with_capacity(n);
    for _ in 0..n {
        now += match rng.below(20) {
            0..=7 => 0,
            8..=15 => rng.below(2 * t),
            16..=18 => rng.below(10 * t),
            _ => rng.below(2 * t * u64::from(l.burst) + 1),
        };
        let cost = 1 + u32::try_from(rng.below(3)).expect("small");
        let tat = k.tat;
        let d = k.hit(now, cost);
        steps.push(Step { now, cost, tat, d });
    }
    steps
}

fn each_pattern(mut f: impl FnMut(Limit, &[Step])) {
    for (limit, per, burst) in LIMITS {
        for seed in 1..=6u64 {
            let l = lim(limit, per, burst);
            f(l, &run(l, seed * 7919 + u64::from(burst), 400));
        }
    }
}

#[test]
fn admitted_never_exceeds_burst_plus_rate_times_interval() {
    each_pattern(|l, steps| {
        let t = l.emission_interval_ns();
        let admitted: Vec<(u64, u32)> = steps
            .iter()
            .filter(|s| s.d.allowed)
            .map(|s| (s.now, s.cost))
            .collect();
        assert!(!admitted.is_empty(), "{l:?}: the pattern admits something");
        for i in 0..admitted.len() {
            let mut sum = 0u128;
            for &(at, cost) in &admitted[i..] {
                sum += u128::from(cost);
                let bound = u128::from(l.burst) + u128::from(at - admitted[i].0) / t;
                assert!(
                    sum <= bound,
                    "{l:?}: {sum} cells in {}ns",
                    at - admitted[i].0
                );
            }
        }
    });
}

#[test]
fn retry_after_is_honest() {
    let mut refusals = 0;
    each_pattern(|l, steps| {
        for s in steps.iter().filter(|s| !s.d.allowed && !s.d.never()) {
            refusals += 1;
            let retry = u64::try_from(s.d.retry_after.as_nanos()).expect("small");
            assert!(check(&l, s.tat, s.now + retry, s.cost).allowed, "{l:?}");
            assert!(
                !check(&l, s.tat, s.now + retry - 1, s.cost).allowed,
                "{l:?}"
            );
            if retry >= MS {
                assert!(
                    !check(&l, s.tat, s.now + retry - MS, s.cost).allowed,
                    "{l:?}"
                );
            }
            assert!(retry_after_secs(&s.d) >= 1);
        }
    });
    assert!(
        refusals > 500,
        "the patterns exercise refusals ({refusals})"
    );
}

#[test]
fn reset_after_is_when_the_bucket_is_full() {
    each_pattern(|l, steps| {
        for s in steps {
            let tat = if s.d.allowed {
                Some(s.d.new_tat)
            } else {
                s.tat
            };
            let reset = u64::try_from(s.d.reset_after.as_nanos()).expect("small");
            assert_eq!(check(&l, tat, s.now + reset, 0).remaining, l.burst, "{l:?}");
            if reset > 0 {
                let before = check(&l, tat, s.now + reset - 1, 0).remaining;
                assert_eq!(before, l.burst - 1, "{l:?}");
            }
        }
    });
}

#[test]
fn remaining_is_exact() {
    each_pattern(|l, steps| {
        for s in steps.iter().filter(|s| s.d.allowed).step_by(7) {
            let mut k = Key {
                limit: l,
                tat: Some(s.d.new_tat),
            };
            for i in 0..s.d.remaining {
                assert!(k.hit(s.now, 1).allowed, "{l:?}: {i} of {}", s.d.remaining);
            }
            assert!(!k.hit(s.now, 1).allowed, "{l:?}: one past remaining");
        }
    });
}
