//! `switchyard ctl spool …` and `switchyard ctl partners` (SPEC §1, §2 `spool`, §7): the
//! durable webhook queue per partner (depth, oldest age, dead letters, bytes, failed
//! attempts, paused), pausing and resuming deliveries, dead letters listed, replayed into the
//! queue or purged, and each partner's limit, decisions, rejections and queue. Mutations are
//! operator calls and audited by the server; an unknown partner is the server's 404.

use super::client::encode_segment;
use super::render::{items, kv, table, text};
use super::Call;
use clap::Subcommand;
use http::Method;
use serde_json::Value;
use std::fmt::Write;
use std::time::Duration;

/// `ctl spool …`.
#[derive(Subcommand, Debug)]
pub enum SpoolCmd {
    /// Each partner's queue: depth, age of the oldest webhook, dead letters, bytes on disk,
    /// failed delivery attempts, paused; then the spool's used and maximum bytes.
    #[command(visible_alias = "list")]
    Ls,
    /// Stop delivering a partner's queue (webhooks keep being accepted and spooled) (operator).
    Pause {
        /// Partner name (`partners.<name>`).
        partner: String,
    },
    /// Deliver a paused partner's queue again (operator).
    Resume {
        /// Partner name.
        partner: String,
    },
    /// Put every dead letter of a partner back at the end of its queue, due at once, with a
    /// fresh attempt count (operator).
    Replay {
        /// Partner name.
        partner: String,
    },
    /// List a partner's dead letters, oldest first, with why each was given up.
    Dead {
        /// Partner name.
        partner: String,
        /// At most this many (the server caps it at 1000; default 100).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Drop every dead letter of a partner for good (operator; cannot be undone).
    Purge {
        /// Partner name.
        partner: String,
    },
}

/// The request a `spool` subcommand makes.
pub fn spool_call(cmd: &SpoolCmd) -> Call {
    let one = |p: &str| format!("/api/v1/spool/{}", encode_segment(p));
    let act = |p: &str, action: &str| Call {
        method: Method::POST,
        path: format!("{}/{action}", one(p)),
        body: None,
    };
    match cmd {
        SpoolCmd::Ls => Call::get("/api/v1/spool".into()),
        SpoolCmd::Pause { partner } => act(partner, "pause"),
        SpoolCmd::Resume { partner } => act(partner, "resume"),
        SpoolCmd::Replay { partner } => act(partner, "replay"),
        SpoolCmd::Dead { partner, limit } => {
            let query = limit.map_or_else(String::new, |l| format!("?limit={l}"));
            Call::get(format!("{}/dead{query}", one(partner)))
        }
        SpoolCmd::Purge { partner } => Call {
            method: Method::DELETE,
            path: format!("{}/dead", one(partner)),
            body: None,
        },
    }
}

/// Human output of a `spool` subcommand.
pub fn render_spool(cmd: &SpoolCmd, v: &Value) -> String {
    match cmd {
        SpoolCmd::Ls => ls(v),
        SpoolCmd::Dead { .. } => dead(v),
        SpoolCmd::Pause { .. }
        | SpoolCmd::Resume { .. }
        | SpoolCmd::Replay { .. }
        | SpoolCmd::Purge { .. } => action(v),
    }
}

/// `GET /api/v1/spool`: one row per partner, then the spool's fill level.
pub fn ls(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(&v["partners"])
        .iter()
        .map(|p| {
            vec![
                text(&p["partner"]),
                text(&p["depth"]),
                age(&p["depth"], &p["oldest_age_seconds"]),
                text(&p["dead"]),
                bytes(&p["bytes"]),
                text(&p["failed_attempts"]),
                yes_no(&p["paused"]),
            ]
        })
        .collect();
    let mut out = if rows.is_empty() {
        "no partners and nothing spooled\n".to_owned()
    } else {
        let header = [
            "PARTNER",
            "DEPTH",
            "OLDEST",
            "DEAD",
            "BYTES",
            "FAILED ATTEMPTS",
            "PAUSED",
        ];
        table(&header, &rows)
    };
    out.push('\n');
    let used = v["used_bytes"].as_u64();
    let max = v["max_bytes"].as_u64();
    let fill = match (used, max) {
        (Some(u), Some(m)) if m > 0 => format!(" ({:.1}%)", u as f64 * 100.0 / m as f64),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "spool: {} used of {}{fill}",
        bytes(&v["used_bytes"]),
        bytes(&v["max_bytes"])
    );
    out
}

/// `GET /api/v1/spool/{partner}/dead`: one row per dead letter.
pub fn dead(v: &Value) -> String {
    let list = items(&v["dead"]);
    if list.is_empty() {
        return format!("no dead letters for {}", text(&v["partner"]));
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                text(&d["seq"]),
                text(&d["id"]),
                received(&d["received_at_ms"]),
                text(&d["attempts"]),
                bytes(&d["bytes"]),
                text(&d["path"]),
                text(&d["reason"]),
            ]
        })
        .collect();
    let header = [
        "SEQ", "ID", "RECEIVED", "ATTEMPTS", "BYTES", "PATH", "REASON",
    ];
    table(&header, &rows)
}

/// The answer of pause, resume, replay and purge: what was done, then the queue as it is now.
pub fn action(v: &Value) -> String {
    let partner = text(&v["partner"]);
    let n = v["records"].as_u64().unwrap_or(0);
    let letters = if n == 1 {
        "dead letter"
    } else {
        "dead letters"
    };
    let line = match v["action"].as_str() {
        Some("spool.pause") => format!("paused deliveries to {partner}"),
        Some("spool.resume") => format!("resumed deliveries to {partner}"),
        Some("spool.replay") => format!("replayed {n} {letters} of {partner} into its queue"),
        Some("spool.purge") => format!("purged {n} {letters} of {partner}"),
        _ => format!("{} {partner}: {n} records", text(&v["action"])),
    };
    let mut out = line + "\n";
    let s = &v["spool"];
    if !s.is_null() {
        let queue = format!(
            "depth {}, oldest {}, dead {}, {}, paused {}",
            text(&s["depth"]),
            age(&s["depth"], &s["oldest_age_seconds"]),
            text(&s["dead"]),
            bytes(&s["bytes"]),
            yes_no(&s["paused"])
        );
        kv(&mut out, "queue", &queue);
    }
    out
}

/// `GET /api/v1/partners`: one row per configured partner.
pub fn partners(v: &Value) -> String {
    let rows: Vec<Vec<String>> = items(&v["partners"])
        .iter()
        .map(|p| {
            let r = &p["rejections"];
            vec![
                text(&p["partner"]),
                text(&p["path_prefix"]),
                text(&p["verify"]),
                limit(&p["limit"]),
                text(&p["on_limit"]),
                text(&p["fail_mode"]),
                text(&p["allowed"]),
                text(&r["rate_limited"]),
                text(&r["unverified"]),
                text(&p["queued"]),
                text(&p["dead"]),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no partners configured".into();
    }
    let header = [
        "PARTNER",
        "PATH",
        "VERIFY",
        "LIMIT",
        "ON LIMIT",
        "FAIL MODE",
        "ALLOWED",
        "RATE LIMITED",
        "UNVERIFIED",
        "QUEUED",
        "DEAD",
    ];
    table(&header, &rows)
}

/// A partner's limit as configured: `20/s burst 40`, `1200/min burst 50`; none: `-`.
fn limit(l: &Value) -> String {
    let Some(rate) = l["rate"].as_u64() else {
        return "-".into();
    };
    let per = l["per_seconds"].as_f64().unwrap_or(1.0);
    let unit = [(1.0, "/s"), (60.0, "/min"), (3600.0, "/h")]
        .iter()
        .find(|(secs, _)| *secs == per)
        .map_or_else(|| format!(" per {per}s"), |(_, u)| (*u).to_owned());
    format!("{rate}{unit} burst {}", text(&l["burst"]))
}

/// Age of the oldest queued webhook (`-` for an empty queue): `0.4s`, `12s`, `1h 5m 3s`.
fn age(depth: &Value, secs: &Value) -> String {
    if depth.as_u64() == Some(0) {
        return "-".into();
    }
    match secs.as_f64() {
        Some(s) if s < 10.0 => format!("{s:.1}s"),
        Some(s) => humantime::format_duration(Duration::from_secs(s as u64)).to_string(),
        None => "-".into(),
    }
}

/// A byte count in binary units: `512 B`, `1.5 KiB`, `2.0 GiB`.
fn bytes(v: &Value) -> String {
    let Some(n) = v.as_u64() else {
        return "-".into();
    };
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut x = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if x < 1024.0 {
            break;
        }
        x /= 1024.0;
        unit = u;
    }
    format!("{x:.1} {unit}")
}

/// Milliseconds since the epoch as RFC 3339 UTC (seconds).
fn received(ms: &Value) -> String {
    ms.as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || text(ms),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

fn yes_no(v: &Value) -> String {
    match v.as_bool() {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_name_the_partner_and_action() {
        let cases = [
            (SpoolCmd::Ls, Method::GET, "/api/v1/spool"),
            (
                SpoolCmd::Pause {
                    partner: "dhl".into(),
                },
                Method::POST,
                "/api/v1/spool/dhl/pause",
            ),
            (
                SpoolCmd::Resume {
                    partner: "dhl".into(),
                },
                Method::POST,
                "/api/v1/spool/dhl/resume",
            ),
            (
                SpoolCmd::Replay {
                    partner: "edi gw".into(),
                },
                Method::POST,
                "/api/v1/spool/edi%20gw/replay",
            ),
            (
                SpoolCmd::Dead {
                    partner: "dhl".into(),
                    limit: Some(5),
                },
                Method::GET,
                "/api/v1/spool/dhl/dead?limit=5",
            ),
            (
                SpoolCmd::Dead {
                    partner: "dhl".into(),
                    limit: None,
                },
                Method::GET,
                "/api/v1/spool/dhl/dead",
            ),
            (
                SpoolCmd::Purge {
                    partner: "dhl".into(),
                },
                Method::DELETE,
                "/api/v1/spool/dhl/dead",
            ),
        ];
        for (cmd, method, path) in cases {
            let c = spool_call(&cmd);
            assert_eq!((c.method, c.path.as_str()), (method, path), "{cmd:?}");
            assert!(c.body.is_none());
        }
    }

    #[test]
    fn ls_shows_every_column_and_the_fill_level() {
        let v = json!({"used_bytes": 3 << 20, "max_bytes": 2u64 << 30, "partners": [
            {"partner": "dhl", "depth": 3, "oldest_age_seconds": 75.4, "dead": 1, "bytes": 1536,
             "failed_attempts": 7, "paused": true},
            {"partner": "edi-gateway", "depth": 0, "oldest_age_seconds": 0.0, "dead": 0,
             "bytes": 0, "failed_attempts": 0, "paused": false},
        ]});
        assert_eq!(
            ls(&v),
            "PARTNER      DEPTH  OLDEST  DEAD  BYTES    FAILED ATTEMPTS  PAUSED\n\
             dhl          3      1m 15s  1     1.5 KiB  7                yes\n\
             edi-gateway  0      -       0     0 B      0                no\n\
             \n\
             spool: 3.0 MiB used of 2.0 GiB (0.1%)\n"
        );
        let empty = ls(&json!({"used_bytes": 0, "max_bytes": 1024, "partners": []}));
        assert!(
            empty.starts_with("no partners and nothing spooled\n"),
            "{empty}"
        );
        assert!(
            empty.contains("spool: 0 B used of 1.0 KiB (0.0%)"),
            "{empty}"
        );
    }

    #[test]
    fn ages_bytes_and_limits_read() {
        assert_eq!(age(&json!(1), &json!(0.25)), "0.2s");
        assert_eq!(age(&json!(1), &json!(3725.9)), "1h 2m 5s");
        assert_eq!(age(&json!(0), &json!(0.0)), "-");
        assert_eq!(bytes(&json!(1023)), "1023 B");
        assert_eq!(bytes(&json!(5u64 << 30)), "5.0 GiB");
        assert_eq!(bytes(&json!(null)), "-");
        assert_eq!(
            limit(&json!({"rate": 20, "per_seconds": 1.0, "burst": 40})),
            "20/s burst 40"
        );
        assert_eq!(
            limit(&json!({"rate": 1200, "per_seconds": 60.0, "burst": 50})),
            "1200/min burst 50"
        );
        assert_eq!(limit(&json!(null)), "-");
        assert_eq!(received(&json!(0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn actions_and_dead_letters_read() {
        let stats =
            json!({"depth": 2, "oldest_age_seconds": 1.5, "dead": 0, "bytes": 100, "paused": true});
        let v = json!({"partner": "dhl", "action": "spool.pause", "records": 0, "spool": stats});
        assert_eq!(
            action(&v),
            "paused deliveries to dhl\nqueue    depth 2, oldest 1.5s, dead 0, 100 B, paused yes\n"
        );
        let v = json!({"partner": "dhl", "action": "spool.replay", "records": 1});
        assert_eq!(action(&v), "replayed 1 dead letter of dhl into its queue\n");
        let v = json!({"partner": "dhl", "action": "spool.purge", "records": 3});
        assert_eq!(action(&v), "purged 3 dead letters of dhl\n");

        let d = json!({"partner": "dhl", "dead": [{"seq": 4, "id": "id:msg_1",
            "received_at_ms": 1_764_201_600_000u64, "reason": "upstream answered 422",
            "attempts": 0, "bytes": 17, "path": "/hooks/dhl/e"}]});
        assert_eq!(
            dead(&d),
            "SEQ  ID        RECEIVED              ATTEMPTS  BYTES  PATH          REASON\n\
             4    id:msg_1  2025-11-27T00:00:00Z  0         17 B   /hooks/dhl/e  upstream answered 422\n"
        );
        assert_eq!(
            dead(&json!({"partner": "dhl", "dead": []})),
            "no dead letters for dhl"
        );
    }

    #[test]
    fn partners_list_limits_and_queues() {
        let v = json!({"partners": [{"partner": "dhl", "path_prefix": "/hooks/dhl/",
            "verify": "standard_webhooks", "limit": {"rate": 20, "per_seconds": 1.0, "burst": 40},
            "on_limit": "queue", "fail_mode": "open", "allowed": 10,
            "rejections": {"rate_limited": 2, "unverified": 1}, "queued": 3, "dead": 0}]});
        let out = partners(&v);
        let row = out.lines().nth(1).unwrap_or_default();
        assert_eq!(
            row,
            "dhl      /hooks/dhl/  standard_webhooks  20/s burst 40  queue     open       10       2             1           3       0"
        );
        assert_eq!(partners(&json!({"partners": []})), "no partners configured");
    }
}
