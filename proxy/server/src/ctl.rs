//! `switchyard ctl`: the admin client platform engineers drive a running proxy with (SPEC §1,
//! §2, §5, §7). Each subcommand maps to one admin API call ([`Call`]); the answer is printed as human
//! tables ([`render`]) or, with `--json`, as the server's JSON pretty-printed. Any refusal is
//! reported from its problem document and every failure exits 1 ([`client`] does the HTTP).

mod client;
mod freeze;
mod policy;
mod render;
mod spool;

use clap::{Args, Subcommand, ValueEnum};
use client::{Admin, CtlError};
use freeze::{FreezeCmd, GlassCmd};
use http::Method;
use policy::PolicyCmd;
use serde_json::{json, Value};
use spool::SpoolCmd;
use std::process::ExitCode;

/// `switchyard ctl` options and subcommand.
#[derive(Args, Debug)]
pub struct CtlArgs {
    /// Admin API base URL (plain http).
    #[arg(
        long,
        global = true,
        env = "SWITCHYARD_ADMIN_URL",
        default_value = "http://127.0.0.1:9901"
    )]
    url: String,
    /// Bearer token of an admin API client.
    #[arg(long, global = true, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print the server's JSON (pretty) instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: CtlCmd,
}

#[derive(Subcommand, Debug)]
enum CtlCmd {
    /// Config version and last reload, freezes in force and a held reload, routes with their
    /// canary weight, pools and health.
    Status,
    /// Read or change a route's canary.
    Canary {
        #[command(subcommand)]
        cmd: CanaryCmd,
    },
    /// Read the change-freeze calendar, or start and stop a manual "stop the line" freeze.
    Freeze {
        #[command(subcommand)]
        cmd: FreezeCmd,
    },
    /// Request, approve (four eyes) or revoke an exemption from the freeze.
    #[command(name = "break-glass")]
    BreakGlass {
        #[command(subcommand)]
        cmd: GlassCmd,
    },
    /// Reload the config file now.
    Reload,
    /// The durable webhook spool: queues per partner, pause/resume deliveries, dead letters.
    Spool {
        #[command(subcommand)]
        cmd: SpoolCmd,
    },
    /// Partners: verification, limit, decisions, rejections, queued and dead webhooks.
    Partners,
    /// WASM policies: push a new module live or as a shadow.
    Policy {
        #[command(subcommand)]
        cmd: PolicyCmd,
    },
    /// List audit entries, oldest first.
    Audit {
        /// Only entries with a sequence number above this.
        #[arg(long)]
        since: Option<u64>,
        /// At most this many entries (the server caps it at 1000; default 100).
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Subcommand, Debug)]
enum CanaryCmd {
    /// Show a route's canary: weight in force, its source, ramp, guard.
    Show {
        /// Route name.
        route: String,
    },
    /// Override the canary weight (percent, 0..100, at most two decimals).
    Set {
        /// Route name.
        route: String,
        /// Weight in percent (`12.5` or `12.5%`).
        #[arg(value_name = "PCT", value_parser = percent, allow_negative_numbers = true)]
        weight: f64,
        /// Why (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: String,
    },
    /// Send every request to stable (weight 0).
    Rollback {
        /// Route name.
        route: String,
        /// Why (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: String,
    },
    /// Drive the route's configured ramp.
    Ramp {
        /// Route name.
        route: String,
        /// What to do with the ramp.
        action: RampArg,
        /// Why (recorded in the audit log).
        #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
        reason: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RampArg {
    Start,
    Pause,
    Resume,
    Stop,
}

impl RampArg {
    fn as_str(self) -> &'static str {
        match self {
            RampArg::Start => "start",
            RampArg::Pause => "pause",
            RampArg::Resume => "resume",
            RampArg::Stop => "stop",
        }
    }
}

/// `12.5` or `12.5%` as a number; the range is the server's to judge.
fn percent(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches('%').trim();
    n.parse::<f64>()
        .map_err(|_| format!("{s:?} is not a number (percent, e.g. 12.5)"))
}

/// One admin API request.
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Call {
    fn get(path: String) -> Self {
        Call {
            method: Method::GET,
            path,
            body: None,
        }
    }

    fn with(method: Method, path: String, body: Value) -> Self {
        Call {
            method,
            path,
            body: Some(body),
        }
    }
}

/// The request a subcommand makes.
fn call(cmd: &CtlCmd) -> Call {
    match cmd {
        CtlCmd::Status => Call::get("/api/v1/status".into()),
        CtlCmd::Reload => Call {
            method: Method::POST,
            path: "/api/v1/reload".into(),
            body: None,
        },
        CtlCmd::Audit { since, limit } => {
            let mut query: Vec<String> = Vec::new();
            query.extend(since.map(|s| format!("since={s}")));
            query.extend(limit.map(|l| format!("limit={l}")));
            let sep = if query.is_empty() { "" } else { "?" };
            Call::get(format!("/api/v1/audit{sep}{}", query.join("&")))
        }
        CtlCmd::Canary { cmd } => canary_call(cmd),
        CtlCmd::Freeze { cmd } => freeze::freeze_call(cmd),
        CtlCmd::BreakGlass { cmd } => freeze::glass_call(cmd),
        CtlCmd::Spool { cmd } => spool::spool_call(cmd),
        CtlCmd::Partners => Call::get("/api/v1/partners".into()),
        // Sent with the module file as its body by `policy::send`.
        CtlCmd::Policy {
            cmd: PolicyCmd::Push { name, shadow, .. },
        } => Call {
            method: Method::PUT,
            path: policy::push_path(name, *shadow),
            body: None,
        },
    }
}

fn canary_call(cmd: &CanaryCmd) -> Call {
    let base = |route: &str| format!("/api/v1/routes/{}/canary", client::encode_segment(route));
    match cmd {
        CanaryCmd::Show { route } => Call::get(base(route)),
        CanaryCmd::Set {
            route,
            weight,
            reason,
        } => Call::with(
            Method::PUT,
            base(route),
            json!({"weight": weight, "reason": reason}),
        ),
        CanaryCmd::Rollback { route, reason } => Call::with(
            Method::POST,
            format!("{}/rollback", base(route)),
            json!({"reason": reason}),
        ),
        CanaryCmd::Ramp {
            route,
            action,
            reason,
        } => Call::with(
            Method::POST,
            format!("{}/ramp", base(route)),
            json!({"action": action.as_str(), "reason": reason}),
        ),
    }
}

/// Runs one `ctl` subcommand: exit 0 with its output, or 1 with a message on stderr.
pub fn run(args: CtlArgs) -> ExitCode {
    match execute(&args) {
        Ok(out) => {
            println!("{}", out.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchyard ctl: {}", e.to_string().trim_end());
            ExitCode::FAILURE
        }
    }
}

fn execute(args: &CtlArgs) -> Result<String, CtlError> {
    let admin = Admin::new(&args.url, args.token.as_deref())?;
    let answer = match &args.cmd {
        CtlCmd::Policy { cmd } => policy::send(&admin, cmd)?,
        cmd => {
            let c = call(cmd);
            admin.send(c.method, &c.path, c.body.as_ref())?
        }
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&answer).unwrap_or_default());
    }
    Ok(match &args.cmd {
        CtlCmd::Status => render::status(&answer),
        CtlCmd::Canary { .. } => render::canary(&answer),
        CtlCmd::Reload => render::reload(&answer),
        CtlCmd::Audit { .. } => render::audit(&answer),
        CtlCmd::Freeze { cmd } => freeze::render_freeze(cmd, &answer),
        CtlCmd::BreakGlass { .. } => freeze::glass(&answer),
        CtlCmd::Spool { cmd } => spool::render_spool(cmd, &answer),
        CtlCmd::Partners => spool::partners(&answer),
        CtlCmd::Policy { .. } => policy::render(&answer),
    })
}
