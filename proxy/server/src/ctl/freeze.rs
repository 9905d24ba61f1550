//! `switchyard ctl freeze …` and `switchyard ctl break-glass …` (SPEC §5): the freeze
//! calendar as it stands, manual "stop the line" freezes, and break-glass exemptions with the
//! four-eyes approval. The server judges every value (`--until`, `--ttl`, globs), so a bad
//! one is refused with the problem naming its field, like any other refusal.

use super::client::encode_segment;
use super::render::{items, kv, table, text};
use super::Call;
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{json, Value};
use std::fmt::Write;

/// `ctl freeze …`.
#[derive(Subcommand, Debug)]
pub enum FreezeCmd {
    /// Windows in force and next, manual freezes, break-glass, blocked requests, a held reload.
    Status,
    /// Stop the line now: freeze the scope (default everything) until a time (freeze-admin).
    Start {
        /// Why (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: String,
        /// When it ends by itself: RFC 3339 (`2026-11-30T06:00:00-06:00`) or a duration
        /// from now (`2h`, `90m`).
        #[arg(long, value_name = "T")]
        until: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Lift a manual freeze (config windows change through Git) (freeze-admin).
    Stop {
        /// The freeze's id (`freeze-…`).
        id: String,
        /// Why (recorded in the audit log; default "lifted by <token name>").
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: Option<String>,
    },
}

/// `ctl break-glass …`.
#[derive(Subcommand, Debug)]
pub enum GlassCmd {
    /// Ask for an exemption from the freeze for a scope (default everything) (freeze-admin).
    ///
    /// It is pending until a different freeze-admin approves it, unless
    /// `freeze.break_glass.approvals` is 0; a request not approved within its ttl expires.
    Request {
        /// How long it exempts once active, at most `freeze.break_glass.max_ttl` (`30m`, `2h`).
        #[arg(long, value_name = "D")]
        ttl: String,
        /// Why (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: String,
        /// Incident or change ticket (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        ticket: String,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Approve another freeze-admin's request (four eyes); it is active from now for its ttl.
    Approve {
        /// The break-glass id (`bg-…`).
        id: String,
    },
    /// Revoke a pending or active break-glass.
    Revoke {
        /// The break-glass id (`bg-…`).
        id: String,
    },
}

/// A scope as tenant and route globs (`*` matches any run of characters); none: everything.
#[derive(Args, Debug)]
pub struct ScopeArgs {
    /// Tenant glob (repeatable).
    #[arg(long = "tenant", value_name = "GLOB")]
    tenants: Vec<String>,
    /// Route glob (repeatable).
    #[arg(long = "route", value_name = "GLOB")]
    routes: Vec<String>,
}

impl ScopeArgs {
    fn json(&self) -> Value {
        json!({"tenants": self.tenants, "routes": self.routes})
    }
}

/// The request a `freeze` subcommand makes.
pub fn freeze_call(cmd: &FreezeCmd) -> Call {
    match cmd {
        FreezeCmd::Status => Call::get("/api/v1/freeze".into()),
        FreezeCmd::Start {
            reason,
            until,
            scope,
        } => Call::with(
            Method::POST,
            "/api/v1/freeze".into(),
            json!({"reason": reason, "until": until, "scope": scope.json()}),
        ),
        FreezeCmd::Stop { id, reason } => Call {
            method: Method::DELETE,
            path: format!("/api/v1/freeze/{}", encode_segment(id)),
            body: reason.as_ref().map(|r| json!({"reason": r})),
        },
    }
}

/// The request a `break-glass` subcommand makes.
pub fn glass_call(cmd: &GlassCmd) -> Call {
    let one = |id: &str| format!("/api/v1/break-glass/{}", encode_segment(id));
    match cmd {
        GlassCmd::Request {
            ttl,
            reason,
            ticket,
            scope,
        } => Call::with(
            Method::POST,
            "/api/v1/break-glass".into(),
            json!({"scope": scope.json(), "ttl": ttl, "reason": reason, "ticket": ticket}),
        ),
        GlassCmd::Approve { id } => Call {
            method: Method::POST,
            path: format!("{}/approve", one(id)),
            body: None,
        },
        GlassCmd::Revoke { id } => Call {
            method: Method::DELETE,
            path: one(id),
            body: None,
        },
    }
}

/// Human output of a `freeze` subcommand.
pub fn render_freeze(cmd: &FreezeCmd, v: &Value) -> String {
    match cmd {
        FreezeCmd::Status => status(v),
        FreezeCmd::Start { .. } => manual(v),
        FreezeCmd::Stop { .. } => format!("lifted {}", text(&v["id"])),
    }
}

/// `GET /api/v1/freeze`: one section per kind of fact; an empty one says `none`.
pub fn status(v: &Value) -> String {
    let mut out = String::new();
    kv(&mut out, "now", &text(&v["now"]));
    let spans = |key: &str| -> Vec<Vec<String>> {
        items(&v[key])
            .iter()
            .map(|s| vec![text(&s["window"]), text(&s["start"]), text(&s["end"])])
            .collect()
    };
    section(
        &mut out,
        "active windows",
        &["WINDOW", "START", "END"],
        &spans("active"),
    );
    section(
        &mut out,
        "upcoming windows",
        &["WINDOW", "START", "END"],
        &spans("upcoming"),
    );
    let manual: Vec<Vec<String>> = items(&v["manual"])
        .iter()
        .map(|f| {
            vec![
                text(&f["id"]),
                text(&f["until"]),
                scope(&f["scope"]),
                text(&f["by"]),
                text(&f["reason"]),
            ]
        })
        .collect();
    section(
        &mut out,
        "manual freezes",
        &["ID", "UNTIL", "SCOPE", "BY", "REASON"],
        &manual,
    );
    let glass: Vec<Vec<String>> = items(&v["break_glass"])
        .iter()
        .map(|g| {
            vec![
                text(&g["id"]),
                text(&g["status"]),
                scope(&g["scope"]),
                text(&g["expires_at"]),
                text(&g["requested_by"]),
                text(&g["approved_by"]),
                text(&g["ticket"]),
            ]
        })
        .collect();
    let header = [
        "ID",
        "STATUS",
        "SCOPE",
        "EXPIRES",
        "REQUESTED BY",
        "APPROVED BY",
        "TICKET",
    ];
    section(&mut out, "break-glass", &header, &glass);
    let p = &v["break_glass_policy"];
    if !p.is_null() {
        let ttl = p["max_ttl_seconds"].as_u64().map_or_else(
            || "-".to_owned(),
            |s| humantime::format_duration(std::time::Duration::from_secs(s)).to_string(),
        );
        let _ = writeln!(
            out,
            "  max ttl {ttl}, approvals by a second freeze-admin: {}",
            text(&p["approvals"])
        );
    }
    let blocked: Vec<Vec<String>> = items(&v["block_requests"])
        .iter()
        .map(|r| {
            let methods: Vec<String> = items(&r["methods"]).iter().map(text).collect();
            let methods = if methods.is_empty() {
                "any".to_owned()
            } else {
                methods.join(",")
            };
            vec![methods, text(&r["path_regex"])]
        })
        .collect();
    section(
        &mut out,
        "blocked requests while frozen",
        &["METHODS", "PATH REGEX"],
        &blocked,
    );
    out.push('\n');
    let h = &v["held_reload"];
    if h.is_null() {
        out.push_str("held reload: none\n");
    } else {
        let (line, changes) = held(h);
        let _ = writeln!(out, "held reload: {line}");
        for c in changes {
            let _ = writeln!(out, "  {c}");
        }
    }
    out
}

/// A titled table, or `title: none`.
fn section(out: &mut String, title: &str, header: &[&str], rows: &[Vec<String>]) {
    out.push('\n');
    if rows.is_empty() {
        let _ = writeln!(out, "{title}: none");
        return;
    }
    let _ = writeln!(out, "{title}");
    out.push_str(&table(header, rows));
}

/// A held reload in one line (which config, held by which window until when) and its
/// frozen changes.
pub fn held(h: &Value) -> (String, Vec<String>) {
    let hash: String = h["hash"]
        .as_str()
        .map_or_else(|| "-".into(), |s| s.chars().take(12).collect());
    let line = format!(
        "config sha256 {hash}, frozen by window {} until {} (applies by itself then)",
        text(&h["window"]),
        text(&h["until"])
    );
    let changes = items(&h["changes"])
        .iter()
        .map(|c| text(&c["detail"]))
        .collect();
    (line, changes)
}

/// A scope in a few words: `tenants=acme*; routes=odoo`, or `all`.
pub fn scope(s: &Value) -> String {
    let axis = |key: &str| -> Option<String> {
        let globs: Vec<String> = items(&s[key]).iter().map(text).collect();
        (!globs.is_empty()).then(|| format!("{key}={}", globs.join(",")))
    };
    let parts: Vec<String> = [axis("tenants"), axis("routes")]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join("; ")
    }
}

/// A manual freeze just started.
fn manual(f: &Value) -> String {
    let mut out = String::new();
    kv(&mut out, "id", &text(&f["id"]));
    kv(&mut out, "start", &text(&f["start"]));
    kv(&mut out, "until", &text(&f["until"]));
    kv(&mut out, "scope", &scope(&f["scope"]));
    kv(&mut out, "by", &text(&f["by"]));
    kv(&mut out, "reason", &text(&f["reason"]));
    out
}

/// A break-glass as the server answers it (request, approve, revoke).
pub fn glass(g: &Value) -> String {
    let mut out = String::new();
    kv(&mut out, "id", &text(&g["id"]));
    kv(&mut out, "status", &text(&g["status"]));
    kv(&mut out, "scope", &scope(&g["scope"]));
    let ttl = g["ttl_secs"].as_u64().map_or_else(
        || "-".to_owned(),
        |s| humantime::format_duration(std::time::Duration::from_secs(s)).to_string(),
    );
    let expires = match g["status"].as_str() {
        Some("pending") => format!(
            "{} (unless approved before; ttl {ttl})",
            text(&g["expires_at"])
        ),
        _ => format!("{} (ttl {ttl})", text(&g["expires_at"])),
    };
    kv(&mut out, "expires", &expires);
    let requested = format!(
        "{} at {}",
        text(&g["requested_by"]),
        text(&g["requested_at"])
    );
    kv(&mut out, "by", &requested);
    if !g["approved_by"].is_null() {
        let approved = format!(
            "{} at {}",
            text(&g["approved_by"]),
            text(&g["activated_at"])
        );
        kv(&mut out, "approved", &approved);
    }
    if !g["revoked_by"].is_null() {
        kv(&mut out, "revoked", &text(&g["revoked_by"]));
    }
    kv(&mut out, "ticket", &text(&g["ticket"]));
    kv(&mut out, "reason", &text(&g["reason"]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read() {
        assert_eq!(scope(&json!({"tenants": [], "routes": []})), "all");
        assert_eq!(scope(&json!(null)), "all");
        assert_eq!(
            scope(&json!({"tenants": ["acme*", "globex"], "routes": ["odoo"]})),
            "tenants=acme*,globex; routes=odoo"
        );
    }

    #[test]
    fn break_glass_reads() {
        let g = json!({"id": "bg-1", "status": "pending", "scope": {"tenants": [], "routes": ["odoo"]},
            "ttl_secs": 1800, "expires_at": "E", "requested_by": "alice", "requested_at": "R",
            "approved_by": null, "activated_at": null, "revoked_by": null, "ticket": "INC-1", "reason": "fix"});
        assert_eq!(
            glass(&g),
            "id       bg-1\nstatus   pending\nscope    routes=odoo\nexpires  E (unless approved before; ttl 30m)\nby       alice at R\nticket   INC-1\nreason   fix\n"
        );
        let mut g = g;
        g["status"] = json!("active");
        g["approved_by"] = json!("bob");
        g["activated_at"] = json!("A");
        let out = glass(&g);
        assert!(out.contains("\nexpires  E (ttl 30m)\n"), "{out}");
        assert!(out.contains("\napproved bob at A\n"), "{out}");
    }

    #[test]
    fn status_lists_every_section() {
        let v = json!({
            "now": "2026-11-27T12:00:00Z",
            "active": [{"window": "peak", "start": "2026-11-20T06:00:00Z", "end": "2026-12-02T06:00:00Z"}],
            "upcoming": [],
            "manual": [{"id": "freeze-1", "until": "U", "scope": {"tenants": [], "routes": ["odoo"]}, "by": "alice", "reason": "incident"}],
            "break_glass": [{"id": "bg-1", "status": "active", "scope": {"tenants": ["acme"], "routes": []},
                "expires_at": "E", "requested_by": "alice", "approved_by": "bob", "ticket": "INC-1"}],
            "block_requests": [{"methods": [], "path_regex": "^/x"}],
            "break_glass_policy": {"max_ttl_seconds": 14400, "approvals": 1},
            "held_reload": {"hash": "abcdef0123456789", "window": "peak", "until": "T",
                "changes": [{"detail": "routes.odoo.canary.weight 5 → 50"}]},
        });
        let out = status(&v);
        for want in [
            "active windows\nWINDOW",
            "peak    2026-11-20T06:00:00Z",
            "upcoming windows: none",
            "freeze-1  U      routes=odoo  alice  incident",
            "bg-1  active  tenants=acme  E        alice         bob          INC-1",
            "max ttl 4h, approvals by a second freeze-admin: 1",
            "any      ^/x",
            "held reload: config sha256 abcdef012345, frozen by window peak until T",
            "\n  routes.odoo.canary.weight 5 → 50",
        ] {
            assert!(out.contains(want), "{want:?} missing from:\n{out}");
        }
        let quiet = status(&json!({"now": "N"}));
        for want in [
            "active windows: none",
            "break-glass: none",
            "held reload: none",
        ] {
            assert!(quiet.contains(want), "{want:?} missing from:\n{quiet}");
        }
    }
}
