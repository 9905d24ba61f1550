//! WASM policies at run time (SPEC §6). [`load`] reads every configured module, compiles it
//! on the wasmtime host (off the request path: reloads compile in `spawn_blocking`), checks
//! the sha256 pin and runs the policy's declared tests; any failure refuses the whole config
//! and the last good one keeps serving. Each policy lives in a [`Slot`] kept by name across
//! reloads: a reload whose module is byte-identical keeps the module in force (which may have
//! been pushed through the API); a changed module replaces it (Git wins). `PUT
//! /api/v1/policies/{name}` swaps a slot's module atomically after its tests pass, or installs
//! it as a shadow beside the live one. [`stage`] runs a route's policies on a request.

pub mod stage;
pub mod tests;

use arc_swap::{ArcSwap, ArcSwapOption};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use switchyard_core::config::{Config, ConfigError, PolicyConfig};
use switchyard_wasm::{Host, Limits, LoadError, Policy};

/// A policy's module in force, and optionally a shadow candidate run beside it.
pub struct Slot {
    /// Name.
    pub name: String,
    /// The module in force.
    pub live: ArcSwap<Loaded>,
    /// A candidate pushed with `?mode=shadow`: runs on the same requests, never acts; its
    /// disagreements with the live one are counted.
    pub shadow: ArcSwapOption<Loaded>,
}

/// A loaded module and where it came from.
pub struct Loaded {
    /// The compiled policy.
    pub policy: Policy,
    /// SHA-256 of the config file's module (what Git says), to tell a reload's change.
    pub config_sha: String,
    /// `config` or the token name that pushed it.
    pub source: String,
}

/// Guest log lines at warn and error go to the operational log (stderr, JSON lines).
pub struct GuestLog;

impl switchyard_wasm::LogSink for GuestLog {
    fn enabled(&self, level: switchyard_wasm::LogLevel) -> bool {
        level >= switchyard_wasm::LogLevel::Warn
    }
    fn log(&self, policy: &str, level: switchyard_wasm::LogLevel, message: &str) {
        eprintln!(
            "{}",
            serde_json::json!({"level": format!("{level:?}").to_lowercase(), "msg": "policy log", "policy": policy, "line": message})
        );
    }
}

/// The wasmtime host of the proxy's policies; fuel metering is compiled in when the config
/// asks for a fuel limit (it costs every policy some speed, so only then; a fuel limit added
/// by a later reload needs a restart).
pub fn host(cfg: &Config) -> Result<Host, LoadError> {
    Host::with_options(switchyard_wasm::HostOptions {
        log: std::sync::Arc::new(GuestLog),
        fuel: cfg.policies.iter().any(|p| p.fuel.is_some()),
        ..Default::default()
    })
}

/// Limits of a configured policy.
pub fn limits(p: &PolicyConfig) -> Limits {
    Limits {
        time: p.time,
        memory: p.memory,
        fuel: p.fuel,
    }
}

fn err(path: String, message: String) -> ConfigError {
    ConfigError { path, message }
}

/// Compiles one module for policy `p` and runs its declared tests.
pub fn compile(
    host: &Host,
    p: &PolicyConfig,
    wasm: &[u8],
    pools: &[String],
) -> Result<Policy, ConfigError> {
    let path = format!("policies.{}", p.name);
    let policy = Policy::load(
        host,
        &p.name,
        wasm,
        p.config_json.as_bytes(),
        limits(p),
        p.sha256.as_deref(),
    )
    .map_err(|e| match e {
        LoadError::Sha256Mismatch { .. } => err(format!("{path}.sha256"), e.to_string()),
        other => err(
            format!("{path}.module"),
            format!("{}: {other}", p.module.display()),
        ),
    })?;
    tests::run(&policy, p, pools).map_err(|(i, m)| err(format!("{path}.tests[{i}]"), m))?;
    Ok(policy)
}

/// Reads, compiles and tests every configured module, reusing the slot of a policy whose
/// module is unchanged. Returns the slots indexed like `cfg.policies`.
pub fn load(
    host: &Host,
    cfg: &Config,
    kept: &Registry,
) -> Result<Vec<Arc<Slot>>, Vec<ConfigError>> {
    let pools: Vec<String> = cfg.pools.iter().map(|p| p.name.clone()).collect();
    let mut errs = Vec::new();
    let mut out = Vec::new();
    for p in &cfg.policies {
        let wasm = match std::fs::read(&p.module) {
            Ok(b) => b,
            Err(e) => {
                errs.push(err(
                    format!("policies.{}.module", p.name),
                    format!("cannot read {}: {e}", p.module.display()),
                ));
                continue;
            }
        };
        let sha = crate::live::sha256_hex(&wasm);
        // Same module bytes and same settings: keep what is in force (an API push included).
        if let Some((slot, _)) = kept
            .get(&p.name)
            .filter(|(s, was)| s.live.load().config_sha == sha && was == p)
        {
            out.push(slot);
            continue;
        }
        match compile(host, p, &wasm, &pools) {
            Ok(policy) => out.push(Arc::new(Slot {
                name: p.name.clone(),
                live: ArcSwap::from_pointee(Loaded {
                    policy,
                    config_sha: sha,
                    source: "config".into(),
                }),
                shadow: ArcSwapOption::empty(),
            })),
            Err(e) => errs.push(e),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

/// Slots by name, kept across reloads, with the settings each was compiled with.
#[derive(Default)]
pub struct Registry(Mutex<HashMap<String, (Arc<Slot>, PolicyConfig)>>);

impl Registry {
    /// The slot of `name` and the settings it was compiled with.
    pub fn get(&self, name: &str) -> Option<(Arc<Slot>, PolicyConfig)> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Keeps the slots of a config that went live.
    pub fn keep(&self, cfg: &Config, slots: &[Arc<Slot>]) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.clear();
        for (p, s) in cfg.policies.iter().zip(slots) {
            m.insert(p.name.clone(), (s.clone(), p.clone()));
        }
    }
}
