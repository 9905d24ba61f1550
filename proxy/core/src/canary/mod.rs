//! Canary assignment (SPEC §4): which release serves a request. A sticky key (the tenant, a
//! cookie-held bucket, a header value or the client address) hashes with the route name into
//! one of 10 000 buckets; the request goes to canary iff its bucket is below the weight in
//! basis points. Raising the weight only moves buckets to canary and lowering it moves them
//! back, so a session never flaps while the weight holds. Excluded tenants, the tester
//! override, pilot tenants and the weight are applied in that order by [`decide`].
//! [`guard`] compares canary against stable over a sliding window; [`ramp`] steps the weight.

pub mod guard;
pub mod ramp;

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Buckets a key hashes into; a weight of `w` % covers buckets `0..w*100`.
pub const BUCKETS: u16 = 10_000;

/// Which release serves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The stable release.
    Stable,
    /// The canary release.
    Canary,
}

impl Variant {
    /// `stable` or `canary` (metric label, response header value).
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Stable => "stable",
            Variant::Canary => "canary",
        }
    }
}

/// Why a variant was chosen (access-log reason code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The bucket against the weight.
    Weight,
    /// A pilot tenant while the weight is above 0.
    Pilot,
    /// The tester override header from a trusted source.
    Override,
    /// An excluded tenant.
    Excluded,
}

impl Reason {
    /// `canary:weight`, `canary:pilot`, `canary:override`, `canary:excluded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Weight => "canary:weight",
            Reason::Pilot => "canary:pilot",
            Reason::Override => "canary:override",
            Reason::Excluded => "canary:excluded",
        }
    }
}

/// A canary weight in basis points (0..=10 000 = 0..100 % with two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Weight(u16);

impl Weight {
    /// No traffic to canary.
    pub const ZERO: Weight = Weight(0);
    /// All traffic to canary.
    pub const FULL: Weight = Weight(BUCKETS);

    /// A weight from a percentage: 0..=100 with at most two decimals.
    pub fn from_percent(p: f64) -> Result<Weight, String> {
        if !p.is_finite() || !(0.0..=100.0).contains(&p) {
            return Err(format!("weight {p} is outside 0..100"));
        }
        let bp = (p * 100.0).round();
        if (bp - p * 100.0).abs() > 1e-6 {
            return Err(format!("weight {p} has more than two decimals"));
        }
        // In range and integral: 0..=10 000.
        Ok(Weight(bp as u16))
    }

    /// From basis points, clamped to 10 000.
    pub fn from_basis_points(bp: u16) -> Weight {
        Weight(bp.min(BUCKETS))
    }

    /// Basis points.
    pub fn basis_points(self) -> u16 {
        self.0
    }

    /// Percent (for humans, JSON and the weight gauge).
    pub fn percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl std::fmt::Display for Weight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.percent())
    }
}

/// The bucket (0..10 000) of a sticky key on a route. XXH3 is a specified hash, so a key's
/// bucket is the same on every replica and every release of switchyard.
pub fn bucket(route: &str, key: &[u8]) -> u16 {
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(0x5357_4954_4348_5944);
    h.update(route.as_bytes());
    h.update(&[0xff]);
    h.update(key);
    // 2^64 mod 10 000 is tiny against 2^64: the bias is far below a thousandth of a point.
    (h.digest() % u64::from(BUCKETS)) as u16
}

/// A bucket held in a cookie, if the value is one (`0`..`9999`, digits only).
pub fn parse_bucket(v: &str) -> Option<u16> {
    if v.is_empty() || v.len() > 4 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u16>().ok().filter(|b| *b < BUCKETS)
}

/// What a trusted tester asked for with the override header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    /// `always`: canary.
    Always,
    /// `never`: stable.
    Never,
}

impl Forced {
    /// `always` / `never` (case-insensitive); anything else is no request.
    pub fn parse(v: &[u8]) -> Option<Forced> {
        if v.eq_ignore_ascii_case(b"always") {
            Some(Forced::Always)
        } else if v.eq_ignore_ascii_case(b"never") {
            Some(Forced::Never)
        } else {
            None
        }
    }
}

/// The facts one assignment looks at.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    /// The effective weight.
    pub weight: Weight,
    /// The request's bucket.
    pub bucket: u16,
    /// The tenant is a pilot of this route.
    pub pilot: bool,
    /// The tenant is excluded from this route's canary.
    pub excluded: bool,
    /// A trusted tester's override.
    pub forced: Option<Forced>,
}

/// Picks the variant: excluded tenants never see canary, then the tester override, then pilot
/// tenants (while the weight is above 0), then the bucket against the weight.
pub fn decide(a: &Ask) -> (Variant, Reason) {
    if a.excluded {
        return (Variant::Stable, Reason::Excluded);
    }
    match a.forced {
        Some(Forced::Always) => return (Variant::Canary, Reason::Override),
        Some(Forced::Never) => return (Variant::Stable, Reason::Override),
        None => {}
    }
    if a.pilot && a.weight > Weight::ZERO {
        return (Variant::Canary, Reason::Pilot);
    }
    if a.bucket < a.weight.basis_points() {
        (Variant::Canary, Reason::Weight)
    } else {
        (Variant::Stable, Reason::Weight)
    }
}

/// Guard settings (compiled `canary.guard`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardSettings {
    /// Length of the sliding window.
    pub window: Duration,
    /// Requests each variant needs in the window before the guard judges.
    pub min_requests: u32,
    /// Highest tolerated canary 5xx rate (0..1).
    pub max_error_rate: f64,
    /// Highest tolerated canary p99 / stable p99.
    pub max_p99_ratio: f64,
}

/// Ramp plan (compiled `canary.ramp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RampPlan {
    /// Weights to step through, ascending.
    pub steps: Vec<Weight>,
    /// Time between steps.
    pub every: Duration,
}

#[cfg(test)]
mod tests;
