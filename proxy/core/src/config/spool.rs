//! `spool:` — the durable webhook spool behind `on_limit: queue`: how many bytes it may hold
//! on disk (beyond: new deliveries are refused rather than queued), how large one segment
//! file grows, and the delivery retry schedule (exponential from `initial`, capped at `max`;
//! a delivery older than `max_age` goes to the dead-letter list).

use super::server::{duration, size};
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::time::Duration;

/// `spool:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpoolSpec {
    /// Bytes on disk at most (default 2GiB).
    pub max_bytes: Option<String>,
    /// One segment file's size (default 64MiB, at least 64KiB, at most `max_bytes`).
    pub segment_bytes: Option<String>,
    /// Delivery retries.
    #[serde(default)]
    pub retry: RetrySpec,
}

/// `spool.retry:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// First retry delay (default 1s).
    pub initial: Option<String>,
    /// Longest retry delay (default 10m).
    pub max: Option<String>,
    /// Age at which a delivery is dead-lettered (default 72h).
    pub max_age: Option<String>,
}

/// The compiled spool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolConfig {
    /// Bytes on disk at most.
    pub max_bytes: u64,
    /// First retry delay (> 0).
    pub initial: Duration,
    /// Longest retry delay (≥ `initial`).
    pub max: Duration,
    /// Dead-letter age (> 0).
    pub max_age: Duration,
    /// Segment file size (≤ `max_bytes`).
    pub segment_bytes: u64,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: 2 << 30,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(600),
            max_age: Duration::from_secs(72 * 3600),
            segment_bytes: 64 << 20,
        }
    }
}

/// Compiles `spool:`, collecting every problem.
pub fn compile(spec: &SpoolSpec, errs: &mut Errors) -> SpoolConfig {
    let d = SpoolConfig::default();
    let r = &spec.retry;
    let c = SpoolConfig {
        max_bytes: size(&spec.max_bytes, d.max_bytes, "spool.max_bytes", errs),
        initial: duration(&r.initial, d.initial, "spool.retry.initial", errs),
        max: duration(&r.max, d.max, "spool.retry.max", errs),
        max_age: duration(&r.max_age, d.max_age, "spool.retry.max_age", errs),
        segment_bytes: size(
            &spec.segment_bytes,
            d.segment_bytes,
            "spool.segment_bytes",
            errs,
        ),
    };
    if c.max_bytes == 0 {
        errs.at("spool.max_bytes", "must be above 0");
    }
    if c.segment_bytes < 64 << 10 {
        errs.at("spool.segment_bytes", "must be at least 64KiB");
    } else if c.max_bytes > 0 && c.segment_bytes > c.max_bytes {
        errs.at("spool.segment_bytes", "must not exceed spool.max_bytes");
    }
    if c.initial.is_zero() {
        errs.at("spool.retry.initial", "must be above 0");
    } else if c.initial > c.max {
        errs.at("spool.retry.initial", "must not exceed spool.retry.max");
    }
    if c.max_age.is_zero() {
        errs.at("spool.retry.max_age", "must be above 0");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> (SpoolConfig, Vec<String>) {
        let spec: SpoolSpec = serde_yaml_ng::from_str(yaml).expect("test yaml parses");
        let mut errs = Errors::default();
        let c = compile(&spec, &mut errs);
        (c, errs.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn spec_example_and_defaults() {
        let (c, errs) =
            build("{ max_bytes: 2GiB, retry: { initial: 1s, max: 10m, max_age: 72h } }");
        assert_eq!((c, errs), (SpoolConfig::default(), vec![]));
        assert_eq!(build("{}"), (SpoolConfig::default(), vec![]));
        let (c, _) = build("{ max_bytes: 1GiB, segment_bytes: 1MiB, retry: { max: 1m } }");
        assert_eq!(
            (c.max_bytes, c.segment_bytes, c.max),
            (1 << 30, 1 << 20, Duration::from_secs(60))
        );
    }

    #[test]
    fn every_problem_with_its_path() {
        for (yaml, want) in [
            ("{ max_bytes: 0 }", "spool.max_bytes: must be above 0"),
            ("{ max_bytes: lots }", "spool.max_bytes: invalid size"),
            (
                "{ segment_bytes: 1KiB }",
                "spool.segment_bytes: must be at least 64KiB",
            ),
            (
                "{ max_bytes: 1MiB }",
                "spool.segment_bytes: must not exceed spool.max_bytes",
            ),
            (
                "{ retry: { initial: 0s } }",
                "spool.retry.initial: must be above 0",
            ),
            (
                "{ retry: { initial: 1h } }",
                "spool.retry.initial: must not exceed spool.retry.max",
            ),
            (
                "{ retry: { max_age: 0s } }",
                "spool.retry.max_age: must be above 0",
            ),
            (
                "{ retry: { max: soon } }",
                "spool.retry.max: invalid duration",
            ),
        ] {
            let (_, errs) = build(yaml);
            assert!(
                errs.len() == 1 && errs[0].starts_with(want),
                "{yaml}: {errs:?}"
            );
        }
        let unknown = serde_yaml_ng::from_str::<SpoolSpec>("{ retry: { initail: 1s } }");
        assert!(unknown.is_err(), "unknown keys are refused");
    }
}
