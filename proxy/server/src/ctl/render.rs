//! Human output of `switchyard ctl`: the admin API's JSON turned into aligned tables and
//! `key value` lines, and problem documents into one readable message. Every field is read
//! tolerantly (a missing one prints `-`), so a newer server's extra fields change nothing.

use serde_json::Value;
use std::fmt::Write;

/// `GET /api/v1/status`: config and reload lines, then the routes and pools tables.
pub fn status(v: &Value) -> String {
    let mut out = String::new();
    let cfg = &v["config"];
    let config = format!(
        "version {}, sha256 {}, loaded {} ({})",
        text(&cfg["version"]),
        short_hash(&cfg["hash"]),
        text(&cfg["loaded_at"]),
        text(&cfg["path"])
    );
    kv(&mut out, "config", &config);
    reload_lines(&mut out, &v["last_reload"]);
    kv(
        &mut out,
        "state",
        &format!("{} backend", text(&v["state"]["backend"])),
    );
    if v["draining"].as_bool() == Some(true) {
        kv(&mut out, "draining", "yes: not accepting new connections");
    }
    freeze_lines(&mut out, &v["freeze"]);
    if !v["held_reload"].is_null() {
        let (line, changes) = super::freeze::held(&v["held_reload"]);
        kv(&mut out, "held", &format!("reload of {line}"));
        for c in changes {
            kv(&mut out, "", &format!("  {c}"));
        }
    }
    out.push('\n');
    out.push_str(&routes_table(&v["routes"]));
    out.push('\n');
    out.push_str(&pools_table(&v["pools"]));
    out
}

/// The freeze windows in force and the active break-glass exemptions, one line each.
fn freeze_lines(out: &mut String, f: &Value) {
    let mut key = "freeze";
    for w in items(&f["active"]) {
        let line = format!("window {} until {}", text(&w["window"]), text(&w["end"]));
        kv(out, key, &line);
        key = "";
    }
    for g in items(&f["break_glass"]) {
        if g["status"].as_str() == Some("active") {
            let line = format!(
                "break-glass {} ({}) until {}, ticket {}",
                text(&g["id"]),
                super::freeze::scope(&g["scope"]),
                text(&g["expires_at"]),
                text(&g["ticket"])
            );
            kv(out, key, &line);
            key = "";
        }
    }
}

fn reload_lines(out: &mut String, r: &Value) {
    if r.is_null() {
        kv(out, "reload", "none since start");
        return;
    }
    let line = format!(
        "{} ({}) at {}",
        text(&r["result"]),
        text(&r["trigger"]),
        text(&r["at"])
    );
    kv(out, "reload", &line);
    for e in items(&r["errors"]) {
        kv(out, "", &format!("error: {}", text(e)));
    }
    let restart: Vec<String> = items(&r["needs_restart"]).iter().map(text).collect();
    if !restart.is_empty() {
        kv(out, "", &format!("needs restart: {}", restart.join(", ")));
    }
}

fn routes_table(routes: &Value) -> String {
    let rows: Vec<Vec<String>> = items(routes)
        .iter()
        .map(|r| {
            let c = &r["canary"];
            let o = &c["override"];
            vec![
                text(&r["name"]),
                text(&r["stable"]),
                text(&c["pool"]),
                percent(&c["weight"]),
                text(&c["source"]),
                text(&o["by"]),
                text(&o["reason"]),
                ramp(&c["ramp"]),
            ]
        })
        .collect();
    let header = [
        "ROUTE", "STABLE", "CANARY", "WEIGHT", "SOURCE", "BY", "REASON", "RAMP",
    ];
    table(&header, &rows)
}

fn pools_table(pools: &Value) -> String {
    let mut rows = Vec::new();
    for p in items(pools) {
        for e in items(&p["endpoints"]) {
            let health = match e["healthy"].as_bool() {
                Some(true) => "healthy",
                Some(false) => "unhealthy",
                None => "-",
            };
            rows.push(vec![
                text(&p["name"]),
                text(&e["url"]),
                health.to_owned(),
                text(&e["connect_failures"]),
            ]);
        }
    }
    table(&["POOL", "ENDPOINT", "HEALTH", "CONNECT FAILURES"], &rows)
}

/// A route's canary (`GET|PUT …/canary`, rollback, ramp): one `key value` line per fact.
pub fn canary(c: &Value) -> String {
    let mut out = String::new();
    kv(&mut out, "route", &text(&c["route"]));
    kv(&mut out, "canary", &text(&c["pool"]));
    let weight = format!(
        "{} ({}; config {})",
        percent(&c["weight"]),
        text(&c["source"]),
        percent(&c["config_weight"])
    );
    kv(&mut out, "weight", &weight);
    let o = &c["override"];
    if !o.is_null() {
        let by = format!(
            "{} at {}: {}",
            text(&o["by"]),
            text(&o["at"]),
            text(&o["reason"])
        );
        kv(&mut out, "by", &by);
    }
    let r = &c["ramp"];
    if !r.is_null() {
        let steps: Vec<String> = items(&r["steps"]).iter().map(percent).collect();
        kv(
            &mut out,
            "ramp",
            &format!("{} (steps {})", ramp(r), steps.join(", ")),
        );
    }
    kv(&mut out, "sticky", &text(&c["sticky"]));
    let g = &c["guard"];
    if !g.is_null() {
        let guard = format!(
            "window {}s, min {} requests, max error rate {}, max p99 ratio {}",
            text(&g["window_seconds"]),
            text(&g["min_requests"]),
            text(&g["max_error_rate"]),
            text(&g["max_p99_ratio"])
        );
        kv(&mut out, "guard", &guard);
    }
    out
}

/// A ramp's state in a few words: `running, step 1/2, next at …`.
fn ramp(r: &Value) -> String {
    if r.is_null() {
        return "-".into();
    }
    let field = |k: &str| &r[k];
    let at = format!(
        "step {}/{}",
        r["step"].as_u64().map_or(0, |s| s + 1),
        items(&r["steps"]).len()
    );
    match field("state").as_str() {
        Some("running") => format!("running, {at}, next at {}", text(&r["next_at"])),
        Some("paused") => {
            let secs = field("remaining_ms").as_u64().unwrap_or(0) / 1000;
            let left = humantime::format_duration(std::time::Duration::from_secs(secs));
            format!("paused at {at}, {left} left")
        }
        Some("stopped") => format!("stopped at {at}: {}", text(field("reason"))),
        Some(other) => format!("{other} at {at}"),
        None => format!("? at {at}"),
    }
}

/// `POST /api/v1/reload`.
pub fn reload(v: &Value) -> String {
    if v["result"].as_str() == Some("held") {
        return format!(
            "reload held by a freeze: version {} (sha256 {}) keeps serving; `switchyard ctl freeze status` lists the frozen changes",
            text(&v["version"]),
            short_hash(&v["hash"])
        );
    }
    let mut out = format!(
        "reload {}: version {}, sha256 {}",
        text(&v["result"]),
        text(&v["version"]),
        short_hash(&v["hash"])
    );
    let restart: Vec<String> = items(&v["needs_restart"]).iter().map(text).collect();
    if !restart.is_empty() {
        let _ = write!(
            out,
            "\nneeds restart to take effect: {}",
            restart.join(", ")
        );
    }
    out
}

/// `GET /api/v1/audit`: one line per entry.
pub fn audit(v: &Value) -> String {
    let entries = items(&v["entries"]);
    if entries.is_empty() {
        return "no audit entries".into();
    }
    // The break-glass column only when some change was made under one.
    let glass = entries.iter().any(|e| !e["break_glass"].is_null());
    let mut keys = vec!["seq", "ts", "actor", "action", "target", "result", "reason"];
    let mut header = vec![
        "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "RESULT", "REASON",
    ];
    if glass {
        keys.push("break_glass");
        header.push("BREAK-GLASS");
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| keys.iter().map(|k| text(&e[*k])).collect())
        .collect();
    table(&header, &rows)
}

/// A refusal: `STATUS title: detail`, then the field, the errors and the request id.
pub fn problem(status: u16, body: &[u8]) -> String {
    let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(body) else {
        let raw = String::from_utf8_lossy(body);
        let raw: String = raw.trim().chars().take(500).collect();
        return format!("the admin API answered {status}: {raw}");
    };
    let get = |k: &str| p.get(k).unwrap_or(&Value::Null);
    let mut out = format!("{status} {}: {}", text(get("title")), text(get("detail")));
    // `field` names a request field; `path` a config path (a refused policy module).
    for key in ["field", "path"] {
        if let Some(f) = get(key).as_str().filter(|f| !f.is_empty()) {
            let _ = write!(out, "\n  {key}: {f}");
        }
    }
    let errors = items(get("errors"));
    if !errors.is_empty() {
        out.push_str("\n  errors:");
        for e in errors {
            let _ = write!(out, "\n    {}", text(e));
        }
    }
    if let Some(id) = get("request_id").as_str() {
        let _ = write!(out, "\n  request id: {id}");
    }
    out
}

/// Columns padded to their widest cell, two spaces apart.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (cell, w) in cells.zip(&widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        l.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

pub(super) fn kv(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key:<9}{value}");
}

pub(super) fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A scalar as text; null or missing as `-`.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        // `60`, not serde_json's `60.0`.
        Value::Number(n) if n.is_f64() => {
            n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string())
        }
        other => other.to_string(),
    }
}

/// A percent number without a trailing `.0`: `12.5%`, `10%`.
fn percent(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".into(), |p| format!("{p}%"))
}

fn short_hash(v: &Value) -> String {
    v.as_str()
        .map_or_else(|| "-".into(), |h| h.chars().take(12).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_name_field_and_errors() {
        let body = json!({"title": "Invalid request", "detail": "weight 150 is outside 0..100",
            "field": "weight", "errors": ["a: b"], "request_id": "r1"});
        let msg = problem(400, body.to_string().as_bytes());
        assert_eq!(
            msg,
            "400 Invalid request: weight 150 is outside 0..100\n  field: weight\n  errors:\n    a: b\n  request id: r1"
        );
        assert_eq!(
            problem(502, b"bad gateway"),
            "the admin API answered 502: bad gateway"
        );
    }

    #[test]
    fn tables_align_and_ramps_read() {
        let t = table(&["A", "BB"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "A    BB\nxyz  1\n");
        let cases = [
            (json!(null), "-"),
            (
                json!({"step": 0, "state": "running", "steps": [10.0, 50.0], "next_at": "T"}),
                "running, step 1/2, next at T",
            ),
            (
                json!({"step": 1, "state": "paused", "remaining_ms": 90_500, "steps": [10.0, 50.0]}),
                "paused at step 2/2, 1m 30s left",
            ),
            (
                json!({"step": 1, "state": "stopped", "reason": "guard breach: 5xx", "steps": [10.0, 50.0]}),
                "stopped at step 2/2: guard breach: 5xx",
            ),
            (
                json!({"state": "paused", "step": 0, "remaining_ms": 60_000, "steps": [10.0, 50.0]}),
                "paused at step 1/2, 1m left",
            ),
            (
                json!({"state": "done", "step": 1, "steps": [10.0, 50.0], "next_at": null}),
                "done at step 2/2",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(ramp(&v), want, "{v}");
        }
        assert_eq!(
            (percent(&json!(10.0)), percent(&json!(12.5))),
            ("10%".into(), "12.5%".into())
        );
    }
}
