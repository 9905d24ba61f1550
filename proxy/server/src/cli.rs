//! The `switchyard` command line (SPEC §1): `run`, `check`, `schema`, `demo`, `audit verify`
//! and the admin client `ctl` ([`crate::ctl`]). Each subcommand is a small function returning
//! an exit code.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "A governing reverse proxy for multi-tenant Odoo, behind Traefik"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the proxy.
    Run {
        /// Config file.
        #[arg(
            long,
            env = "SWITCHYARD_CONFIG",
            default_value = "config/switchyard.yaml"
        )]
        config: PathBuf,
    },
    /// Validate a config file: print every problem with its path, exit 1 on any.
    Check {
        /// Config file.
        #[arg(long, env = "SWITCHYARD_CONFIG")]
        config: PathBuf,
    },
    /// Print the JSON Schema of the config file.
    Schema,
    /// Run the proxy on an embedded example config with in-process demo upstreams.
    Demo {
        /// Data-plane address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Admin address.
        #[arg(long, default_value = "127.0.0.1:9901")]
        admin: String,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Admin client: drive a running proxy through its admin API.
    Ctl(crate::ctl::CtlArgs),
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exit 1 with the first bad line.
    Verify {
        /// The audit log file.
        file: PathBuf,
    },
}

/// Entry point.
pub fn main() -> ExitCode {
    match Cli::parse().cmd {
        Cmd::Run { config } => run(config),
        Cmd::Check { config } => check(&config),
        Cmd::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&switchyard_core::config::json_schema())
                    .unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Cmd::Demo { listen, admin } => crate::demo::run(&listen, &admin),
        Cmd::Ctl(args) => crate::ctl::run(args),
        Cmd::Audit {
            cmd: AuditCmd::Verify { file },
        } => match crate::audit::verify(&file) {
            Ok((n, head)) => {
                println!("ok: {n} entries, chain intact, head {head}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                ExitCode::FAILURE
            }
        },
    }
}

fn run(config: PathBuf) -> ExitCode {
    let opts = crate::proxy::Options {
        config_path: config,
        watch: true,
        signals: true,
    };
    match crate::proxy::start(opts) {
        Ok(running) => {
            eprintln!(
                "{}",
                serde_json::json!({"level": "info", "msg": "switchyard started", "listen": running.data.plain.to_string(),
                    "tls": running.data.tls.map(|a| a.to_string()), "admin": running.admin.to_string(), "version": env!("CARGO_PKG_VERSION")})
            );
            running.wait();
            eprintln!(
                "{}",
                serde_json::json!({"level": "info", "msg": "switchyard stopped"})
            );
            ExitCode::SUCCESS
        }
        Err(errs) => {
            for e in errs {
                eprintln!("{e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Validates a config file, printing every problem.
pub fn check(config: &std::path::Path) -> ExitCode {
    let mut problems: Vec<String> = Vec::new();
    let host = crate::live::load_file(config).map(|(c, _)| crate::policies::host(&c));
    let loaded = match &host {
        Ok(Ok(h)) => {
            crate::live::load_generation(config, h, &Default::default()).map(|g| (g.config, g.hash))
        }
        Ok(Err(e)) => Err(vec![switchyard_core::config::ConfigError {
            path: String::new(),
            message: format!("wasm host: {e}"),
        }]),
        Err(errs) => Err(errs.clone()),
    };
    match loaded {
        Err(errs) => problems.extend(errs.iter().map(ToString::to_string)),
        Ok((cfg, hash)) => {
            if let Some(t) = &cfg.server.tls {
                if let Err(e) = crate::tls::server_config(t) {
                    problems.push(e);
                }
            }
            if problems.is_empty() {
                println!(
                    "ok: {} routes, {} pools, {} tenants (sha256 {})",
                    cfg.routes.len(),
                    cfg.pools.len(),
                    cfg.tenants.names.len(),
                    &hash[..12]
                );
                return ExitCode::SUCCESS;
            }
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!("{}: {} problem(s)", config.display(), problems.len());
    ExitCode::FAILURE
}
