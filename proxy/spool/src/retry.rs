//! Retry pacing of failed deliveries (SPEC §2 `spool.retry`): exponential backoff from
//! `initial`, doubling per failure up to `max`, randomised by jitter so a partner's queue and
//! its neighbours do not retry in lock-step against a recovering upstream; a record older than
//! `max_age` is dead-lettered instead. Pure arithmetic on injected time and randomness.

use std::time::Duration;

/// Retry settings of the spool (`spool.retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure (before jitter).
    pub initial: Duration,
    /// Longest wait between attempts (before jitter).
    pub max: Duration,
    /// A record received this long ago is dead-lettered (reason `max_age`) at its next failure.
    pub max_age: Duration,
}

/// How a backoff ceiling is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, ceiling]`: spreads retries most, but may retry almost at once.
    Full,
    /// Uniform in `[ceiling / 2, ceiling]`: always backs off at least half, still spreads herds.
    Equal,
}

/// What [`crate::Spool::retry_later`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Next attempt not before this time (ms since the epoch, the caller's clock).
    Scheduled(u64),
    /// Dead-lettered (too old), or no longer pending: do not deliver it again.
    Dead,
}

impl RetryPolicy {
    /// The jitter [`crate::Spool::retry_later`] applies: `Equal`, so a partner whose upstream
    /// is down is never hammered with near-zero waits.
    pub const JITTER: Jitter = Jitter::Equal;

    /// Ceiling of the wait after the `failures`-th failure (1-based): `initial · 2^(failures−1)`,
    /// capped at `max`.
    pub fn ceiling_ms(&self, failures: u32) -> u64 {
        let doublings = failures.saturating_sub(1).min(63);
        ms(self.initial)
            .saturating_mul(1u64 << doublings)
            .min(ms(self.max))
    }

    /// The jittered wait after the `failures`-th failure; `rng` yields uniform values in
    /// `[0, 1)` (others are clamped into `[0, 1]`).
    pub fn backoff_ms(&self, failures: u32, jitter: Jitter, rng: &mut impl FnMut() -> f64) -> u64 {
        let ceiling = self.ceiling_ms(failures);
        let r = rng();
        let r = if r.is_finite() {
            r.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let floor = match jitter {
            Jitter::Full => 0,
            Jitter::Equal => ceiling / 2,
        };
        let spread = ((ceiling - floor) as f64 * r) as u64;
        (floor + spread).min(ceiling)
    }

    /// Whether a record received at `received_at_ms` is past `max_age` at `now_ms`.
    pub fn expired(&self, received_at_ms: u64, now_ms: u64) -> bool {
        received_at_ms.saturating_add(ms(self.max_age)) <= now_ms
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Jitter, RetryPolicy};

    const POLICY: RetryPolicy = RetryPolicy {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(600),
        max_age: Duration::from_secs(72 * 3600),
    };

    #[test]
    fn ceiling_doubles_from_initial_and_caps_at_max() {
        let table = [
            (1, 1_000),
            (2, 2_000),
            (3, 4_000),
            (8, 128_000),
            (10, 512_000),
            (11, 600_000),
            (64, 600_000),
            (u32::MAX, 600_000),
        ];
        for (failures, want) in table {
            assert_eq!(POLICY.ceiling_ms(failures), want, "failures={failures}");
        }
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        for failures in 1..=12 {
            let ceiling = POLICY.ceiling_ms(failures);
            for (r, full, equal) in [
                (0.0, 0, ceiling / 2),
                (0.5, ceiling / 2, ceiling / 2 + ceiling / 4),
                (0.999_999, ceiling, ceiling),
            ] {
                let got_full = POLICY.backoff_ms(failures, Jitter::Full, &mut || r);
                let got_equal = POLICY.backoff_ms(failures, Jitter::Equal, &mut || r);
                assert!(
                    got_full.abs_diff(full) <= 1,
                    "full failures={failures} r={r}: {got_full}"
                );
                assert!(
                    got_equal.abs_diff(equal) <= 1,
                    "equal failures={failures} r={r}: {got_equal}"
                );
            }
        }
        for bad in [f64::NAN, -3.0, 7.0, f64::INFINITY] {
            let got = POLICY.backoff_ms(3, Jitter::Equal, &mut || bad);
            assert!((2_000..=4_000).contains(&got), "rng {bad} gave {got}");
        }
    }

    #[test]
    fn expiry_is_inclusive_of_max_age() {
        let age = 72 * 3600 * 1000;
        assert!(!POLICY.expired(1_000, 1_000 + age - 1));
        assert!(POLICY.expired(1_000, 1_000 + age));
        assert!(!POLICY.expired(u64::MAX - 5, u64::MAX - 1), "no overflow");
    }
}
