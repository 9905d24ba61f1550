//! Units used by the config file: durations (`250ms`, `5s`, `10m`, `24h`), sizes (`64KiB`,
//! `10MiB`, plain bytes) and rates (`200/s`, `1200/min`). Each parser returns a message fit
//! to be shown after the config path of the offending value.

use std::time::Duration;

/// Parses a duration such as `250ms`, `5s`, `10m`, `24h` or `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() || !t.as_bytes()[0].is_ascii_digit() {
        return Err(format!(
            "invalid duration {s:?} (expected e.g. 250ms, 5s, 10m, 24h)"
        ));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("invalid duration {s:?}: {e} (expected e.g. 250ms, 5s, 10m, 24h)"))
}

/// Parses a size such as `64KiB`, `10MiB`, `2GiB`, `512B`, `1000` (bytes) or `1kB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("invalid size {s:?} (expected e.g. 64KiB, 10MiB, 2GiB or plain bytes)");
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

/// A rate: `limit` events per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed per period.
    pub limit: u32,
    /// The period.
    pub per: Duration,
}

/// Parses a rate such as `200/s`, `1200/min` or `50/h`.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let bad = || format!("invalid rate {s:?} (expected e.g. 200/s, 1200/min)");
    let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
    let limit: u32 = n.trim().parse().map_err(|_| bad())?;
    let per = match unit.trim() {
        "s" | "sec" => Duration::from_secs(1),
        "m" | "min" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    if limit == 0 {
        return Err(format!("invalid rate {s:?}: the limit must be positive"));
    }
    Ok(Rate { limit, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, ms) in [
            ("250ms", 250),
            ("5s", 5000),
            ("10m", 600_000),
            ("24h", 86_400_000),
            ("1h30m", 5_400_000),
        ] {
            assert_eq!(parse_duration(s).map(|d| d.as_millis()), Ok(ms), "{s}");
        }
        for s in ["", "5", "-1s", "abc", "5 parsecs"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn sizes() {
        for (s, n) in [
            ("64KiB", 65_536),
            ("10MiB", 10 << 20),
            ("2GiB", 2 << 30),
            ("1000", 1000),
            ("1kB", 1000),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        for s in ["", "KiB", "1.5MiB", "10 XB", "99999999999999999999GiB"] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn rates() {
        assert_eq!(
            parse_rate("200/s"),
            Ok(Rate {
                limit: 200,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(parse_rate("1200/min").map(|r| r.per.as_secs()), Ok(60));
        for s in ["0/s", "10", "10/fortnight", "x/s"] {
            assert!(parse_rate(s).is_err(), "{s}");
        }
    }
}
