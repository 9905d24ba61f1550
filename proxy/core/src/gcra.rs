//! The Generic Cell Rate Algorithm (GCRA), the rate limiter behind partner and tenant rates,
//! and the `RateLimit-Policy` / `RateLimit` / `Retry-After` values a refusal carries
//! (draft-ietf-httpapi-ratelimit-headers-11). The whole state of one limited key is a single
//! number, its theoretical arrival time (TAT) in nanoseconds on a clock the caller injects, so
//! it fits one local map entry or one redis integer. A [`Limit`] of `limit/per` with `burst`
//! has the emission interval `T = per / limit` (rounded **up** to whole nanoseconds, at least
//! 1 ns, so it never admits more than configured) and the tolerance `τ = T × (burst − 1)`: a
//! request of cost `c` arriving at `now` is admitted iff `max(TAT, now) + c·T − now ≤ burst·T`
//! (= `τ + T`), and then `TAT ← max(TAT, now) + c·T`. Hence at most `burst` requests pass at
//! once, at most `burst + t/T` over any interval of length `t`, and steady traffic spaced `T`
//! apart is never refused. No clock is read here.

use std::time::Duration;

use crate::units::Rate;

/// A rate with its burst: `rate.limit` requests per `rate.per`, up to `burst` at once.
///
/// `burst` is the bucket size: a key idle long enough admits `burst` requests back to back.
/// A `burst` of 0 (or a `rate.limit` of 0) admits no request of positive cost; the config
/// compiler refuses both, the limiter merely stays safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The sustained rate.
    pub rate: Rate,
    /// How many requests may pass at once (≥ 1 to be useful).
    pub burst: u32,
}

impl Limit {
    /// The emission interval `T = per / limit` in nanoseconds, rounded up, at least 1.
    pub fn emission_interval_ns(&self) -> u128 {
        self.rate
            .per
            .as_nanos()
            .div_ceil(u128::from(self.rate.limit.max(1)))
            .max(1)
    }

    /// The tolerance `τ = T × (burst − 1)` in nanoseconds (0 when `burst` is 0 or 1).
    pub fn tolerance_ns(&self) -> u128 {
        self.emission_interval_ns() * u128::from(self.burst.saturating_sub(1))
    }

    /// The window in which an empty bucket refills completely: `burst × T`.
    pub fn window(&self) -> Duration {
        from_ns(self.emission_interval_ns() * u128::from(self.burst))
    }
}

/// The outcome of one [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// The TAT to store. Store it only when `allowed`; when refused it equals the TAT passed
    /// in (or `now_ns` when there was none), so storing it anyway is harmless.
    pub new_tat: u64,
    /// How many more requests of cost 1 would be admitted right now, after this one.
    pub remaining: u32,
    /// Time until the bucket is full again (`burst` requests admissible at once).
    pub reset_after: Duration,
    /// Zero when allowed. When refused, the earliest time from `now` at which the same
    /// request would be admitted if nothing else is admitted meanwhile (exact to the
    /// nanosecond); [`Duration::MAX`] when it never can be (see [`Decision::never`]).
    pub retry_after: Duration,
}

impl Decision {
    /// True when the request was refused because its cost exceeds the burst (or the rate is
    /// zero): waiting will not help; answer without a meaningful `Retry-After`.
    pub fn never(&self) -> bool {
        !self.allowed && self.retry_after == Duration::MAX
    }
}

/// Decides whether a request of `cost` arriving at `now_ns` is admitted, given the key's
/// stored TAT (`None` for a key never seen, equivalent to a full bucket).
///
/// A cost of 0 is a peek: admitted unless the TAT is more than a full window ahead, and it
/// changes nothing but an expired TAT. A cost above `burst` (or any positive cost at a zero
/// rate) is refused with `retry_after == Duration::MAX` ([`Decision::never`]). A TAT ahead of
/// the clock (e.g. a wall clock stepped back) is honoured as is: the key waits.
pub fn check(limit: &Limit, tat: Option<u64>, now_ns: u64, cost: u32) -> Decision {
    let old = tat.unwrap_or(now_ns);
    let now = u128::from(now_ns);
    let tat = u128::from(old).max(now);
    let t = limit.emission_interval_ns();
    // A zero rate has no bucket at all, so it reports nothing remaining.
    let capacity = match limit.rate.limit {
        0 => 0,
        _ => t * u128::from(limit.burst),
    };
    if cost > 0 && (cost > limit.burst || limit.rate.limit == 0) {
        return refused(old, now, tat, t, capacity, Duration::MAX);
    }
    let new_tat = tat + t * u128::from(cost);
    // The request fits iff the bucket, drained to `now`, has room for `cost` more cells.
    let allow_at = new_tat.saturating_sub(capacity);
    if allow_at > now {
        return refused(old, now, tat, t, capacity, from_ns(allow_at - now));
    }
    Decision {
        allowed: true,
        new_tat: to_u64(new_tat),
        remaining: remaining(now, new_tat, t, capacity),
        reset_after: from_ns(new_tat - now),
        retry_after: Duration::ZERO,
    }
}

fn refused(stored: u64, now: u128, tat: u128, t: u128, cap: u128, retry: Duration) -> Decision {
    Decision {
        allowed: false,
        new_tat: stored,
        remaining: remaining(now, tat, t, cap),
        reset_after: from_ns(tat - now),
        retry_after: retry,
    }
}

/// Whole cells left in the bucket when the key's TAT is `tat` (≥ `now`).
fn remaining(now: u128, tat: u128, t: u128, capacity: u128) -> u32 {
    let room = capacity.saturating_sub(tat - now);
    u32::try_from(room / t).unwrap_or(u32::MAX)
}

fn to_u64(ns: u128) -> u64 {
    u64::try_from(ns).unwrap_or(u64::MAX)
}

fn from_ns(ns: u128) -> Duration {
    let secs = u64::try_from(ns / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it fits a u32.
    Duration::new(secs, (ns % 1_000_000_000) as u32)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

/// The `Retry-After` value in whole seconds, rounded up: 0 when allowed, at least 1 when
/// refused, `u64::MAX` when the request can never be admitted ([`Decision::never`]).
pub fn retry_after_secs(d: &Decision) -> u64 {
    if d.allowed {
        0
    } else {
        ceil_secs(d.retry_after).max(1)
    }
}

/// The `RateLimit-Policy` and `RateLimit` field values for a decision, e.g.
/// `"dhl";q=40;w=2` and `"dhl";r=0;t=1`.
///
/// `q` is the burst, `w` the seconds an empty bucket takes to refill (`burst × T`, rounded
/// up), `r` the remaining requests and `t` the seconds until the bucket is full again
/// (rounded up). The name is written as a structured-field string: `"` and `\` are escaped and
/// bytes outside printable ASCII become `?`.
pub fn headers(policy_name: &str, limit: &Limit, d: &Decision) -> (String, String) {
    let name = sf_string(policy_name);
    let policy = format!("{name};q={};w={}", limit.burst, ceil_secs(limit.window()));
    let state = format!("{name};r={};t={}", d.remaining, ceil_secs(d.reset_after));
    (policy, state)
}

fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
