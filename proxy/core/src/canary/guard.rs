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
mod tests;
