//! The canary guard: a sliding window over the proxy's own measurements of both releases and
//! the verdict that compares canary against stable. The window is a ring of ten slots, each a
//! tenth of the window long, holding per variant the request count, the 5xx count and a
//! log-scale latency histogram; a slot is cleared lazily when time comes back round to it, so
//! recording is O(1) and allocation-free. Time is injected as a monotonic `Duration` since an
//! arbitrary origin. The guard only judges once both releases have enough samples, and never
//! blames the canary for what hurts stable just as much.

use super::{GuardSettings, Variant};
use serde::{Serialize, Serializer};
use std::time::Duration;

/// Slots in the ring; each covers a tenth of the window.
const SLOTS: usize = 10;
/// Latency buckets: bucket `i` holds `[GROWTH^i, GROWTH^(i+1))` µs (bucket 0 also everything
/// below), the last one everything above ~10 minutes.
const BUCKETS: usize = 112;
/// Ratio between bucket bounds: the geometric middle of a bucket is within √1.2 − 1 ≈ 9.5 %
/// of every sample in it.
const GROWTH: f64 = 1.2;
/// Stable p99 below this counts as this much, so sub-millisecond noise cannot breach.
const P99_FLOOR: Duration = Duration::from_millis(1);

/// One variant's counts in one slot, or summed over the live slots.
#[derive(Debug, Clone)]
struct Side {
    requests: u64,
    errors: u64,
    latency: [u64; BUCKETS],
}

/// One tenth of the window; `epoch` is the slot-length period it holds, `None` when empty.
#[derive(Debug, Clone)]
struct Slot {
    epoch: Option<u64>,
    stable: Side,
    canary: Side,
}

impl Side {
    const EMPTY: Side = Side {
        requests: 0,
        errors: 0,
        latency: [0; BUCKETS],
    };

    fn add(&mut self, s: &Side) {
        self.requests += s.requests;
        self.errors += s.errors;
        for (t, c) in self.latency.iter_mut().zip(s.latency.iter()) {
            *t += c;
        }
    }

    fn error_rate(&self) -> f64 {
        // errors ≤ requests, so an empty side has rate 0.
        self.errors as f64 / self.requests.max(1) as f64
    }

    /// The bucket holding the ⌈0.99·n⌉-th smallest sample (zero without samples).
    fn p99(&self) -> Duration {
        let total: u64 = self.latency.iter().sum();
        let rank = (total * 99).div_ceil(100).max(1);
        let mut seen = 0;
        for (i, c) in self.latency.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_value(i);
            }
        }
        Duration::ZERO
    }
}

impl Slot {
    const EMPTY: Slot = Slot {
        epoch: None,
        stable: Side::EMPTY,
        canary: Side::EMPTY,
    };
}

/// The sliding window of one route's canary and stable measurements.
#[derive(Debug, Clone)]
pub struct GuardWindow {
    settings: GuardSettings,
    slot_nanos: u128,
    slots: Box<[Slot; SLOTS]>,
}

/// What the guard concluded about the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// A variant has fewer than `min_requests` samples in the window: no judgement.
    Insufficient {
        /// Canary requests in the window.
        canary: u64,
        /// Stable requests in the window.
        stable: u64,
    },
    /// Both variants have enough samples and the canary is within bounds.
    Healthy(GuardStats),
    /// The canary is out of bounds: roll it back.
    Breach {
        /// Which bound it broke (error rate is checked first).
        cause: BreachCause,
        /// The figures it was judged on.
        stats: GuardStats,
    },
}

/// The figures a verdict was reached on. Serialized with the p99s as fractional milliseconds
/// under `canary_p99_ms` / `stable_p99_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GuardStats {
    /// Canary requests in the window.
    pub canary_requests: u64,
    /// Stable requests in the window.
    pub stable_requests: u64,
    /// Canary 5xx / canary requests (0 when there are none).
    pub canary_error_rate: f64,
    /// Stable 5xx / stable requests (0 when there are none).
    pub stable_error_rate: f64,
    /// Canary p99 latency from the histogram (within ~10 %).
    #[serde(rename = "canary_p99_ms", serialize_with = "millis")]
    pub canary_p99: Duration,
    /// Stable p99 latency from the histogram (within ~10 %).
    #[serde(rename = "stable_p99_ms", serialize_with = "millis")]
    pub stable_p99: Duration,
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Which bound a canary broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachCause {
    /// Canary 5xx rate above `max_error_rate` and above stable's.
    ErrorRate,
    /// Canary p99 above `max_p99_ratio` × stable p99.
    Latency,
}

impl BreachCause {
    /// `error_rate` or `latency` (metric label, ramp stop reason).
    pub fn as_str(self) -> &'static str {
        match self {
            BreachCause::ErrorRate => "error_rate",
            BreachCause::Latency => "latency",
        }
    }
}

impl GuardWindow {
    /// An empty window; the only allocation the guard makes. A zero-length window keeps
    /// (almost) nothing.
    pub fn new(settings: GuardSettings) -> GuardWindow {
        GuardWindow {
            settings,
            slot_nanos: (settings.window.as_nanos() / SLOTS as u128).max(1),
            slots: Box::new([Slot::EMPTY; SLOTS]),
        }
    }

    /// Counts one response of `variant` at `now`: whether it was a 5xx and how long it took.
    /// O(1), no allocation. A sample so late that its slot already holds a newer period is
    /// outside the window and dropped.
    pub fn record(
        &mut self,
        now: Duration,
        variant: Variant,
        server_error: bool,
        latency: Duration,
    ) {
        let epoch = self.epoch(now);
        let slot = &mut self.slots[(epoch % SLOTS as u64) as usize];
        match slot.epoch {
            Some(e) if e > epoch => return,
            Some(e) if e == epoch => {}
            _ => {
                *slot = Slot::EMPTY;
                slot.epoch = Some(epoch);
            }
        }
        let side = match variant {
            Variant::Canary => &mut slot.canary,
            Variant::Stable => &mut slot.stable,
        };
        side.requests += 1;
        side.errors += u64::from(server_error);
        side.latency[bucket_of(latency)] += 1;
    }

    /// Judges the window ending at `now`: `Insufficient` unless both variants have at least
    /// `min_requests` (and at least one) requests; then an error-rate breach if the canary 5xx
    /// rate exceeds both `max_error_rate` and stable's rate; then a latency breach if canary
    /// p99 exceeds `max_p99_ratio` × max(stable p99, 1 ms); otherwise `Healthy`. The window
    /// covers the current slot and the nine before it, so a sample counts for at most
    /// `window` and at least nine tenths of it.
    pub fn evaluate(&mut self, now: Duration) -> Verdict {
        let cur = self.epoch(now);
        let mut canary = Side::EMPTY;
        let mut stable = Side::EMPTY;
        for slot in self.slots.iter_mut() {
            match slot.epoch {
                Some(e) if e <= cur && cur - e < SLOTS as u64 => {
                    canary.add(&slot.canary);
                    stable.add(&slot.stable);
                }
                Some(e) if e < cur => *slot = Slot::EMPTY,
                _ => {}
            }
        }
        judge(&self.settings, &canary, &stable)
    }

    /// Forgets every sample (after a rollback or a weight change, so old samples do not judge
    /// the new weight).
    pub fn reset(&mut self) {
        self.slots.fill(Slot::EMPTY);
    }

    fn epoch(&self, now: Duration) -> u64 {
        u64::try_from(now.as_nanos() / self.slot_nanos).unwrap_or(u64::MAX)
    }
}

/// The histogram bucket of a latency.
fn bucket_of(latency: Duration) -> usize {
    let us = latency.as_secs_f64() * 1e6;
    if us < GROWTH {
        return 0;
    }
    // `us` ≥ 1.2, so the quotient is positive and finite.
    ((us.ln() / GROWTH.ln()).floor() as usize).min(BUCKETS - 1)
}

/// The latency a bucket stands for: its geometric middle.
fn bucket_value(i: usize) -> Duration {
    Duration::from_secs_f64(GROWTH.powf(i as f64 + 0.5) / 1e6)
}

fn judge(s: &GuardSettings, canary: &Side, stable: &Side) -> Verdict {
    let min = u64::from(s.min_requests.max(1));
    if canary.requests < min || stable.requests < min {
        return Verdict::Insufficient {
            canary: canary.requests,
            stable: stable.requests,
        };
    }
    let stats = GuardStats {
        canary_requests: canary.requests,
        stable_requests: stable.requests,
        canary_error_rate: canary.error_rate(),
        stable_error_rate: stable.error_rate(),
        canary_p99: canary.p99(),
        stable_p99: stable.p99(),
    };
    // An outage hitting both releases is not the canary's fault: rolling back would not help.
    let cause = if stats.canary_error_rate > s.max_error_rate
        && stats.canary_error_rate > stats.stable_error_rate
    {
        Some(BreachCause::ErrorRate)
    } else if stats.canary_p99.as_secs_f64()
        > s.max_p99_ratio * stats.stable_p99.max(P99_FLOOR).as_secs_f64()
    {
        Some(BreachCause::Latency)
    } else {
        None
    };
    match cause {
        Some(cause) => Verdict::Breach { cause, stats },
        None => Verdict::Healthy(stats),
    }
}

#[cfg(test)]
mod tests {
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
}
