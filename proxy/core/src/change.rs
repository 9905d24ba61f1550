//! Change-risk classification (SPEC §5): every governance mutation is risk-increasing,
//! risk-reducing or neutral. A freeze refuses risk-increasing changes in its scope and lets
//! risk-reducing ones through, so a rollback always works while a ramp cannot advance.

use crate::canary::Weight;
use serde::Serialize;

/// How a change moves production risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Exposes more traffic to something new (weight up, ramp start or advance).
    Increasing,
    /// Exposes less (rollback, weight down, pause, stop).
    Reducing,
    /// Changes nothing traffic sees (bookkeeping such as dropping an override Git replaced).
    Neutral,
}

/// A canary weight change from `from` to `to`.
pub fn canary_weight(from: Weight, to: Weight) -> Risk {
    match to.cmp(&from) {
        std::cmp::Ordering::Greater => Risk::Increasing,
        std::cmp::Ordering::Less => Risk::Reducing,
        std::cmp::Ordering::Equal => Risk::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_changes() {
        let w = |p: f64| Weight::from_percent(p).expect("valid");
        assert_eq!(canary_weight(w(5.0), w(10.0)), Risk::Increasing);
        assert_eq!(canary_weight(w(10.0), w(0.0)), Risk::Reducing);
        assert_eq!(canary_weight(w(10.0), w(9.99)), Risk::Reducing);
        assert_eq!(canary_weight(w(10.0), w(10.0)), Risk::Neutral);
    }
}
