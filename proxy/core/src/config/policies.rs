//! `policies:` — WASM routing policies (SPEC §6): the module file, an optional sha256 pin, the
//! JSON config the guest reads through `get_config`, what to do when a call fails
//! (`on_error`), its limits, `mode` (enforce, or shadow: run and count, never act) and the
//! tests a module must pass before it goes live. Routes name the policies they run, in order.
//! The module bytes are read and compiled by the server (this crate does no I/O).

use super::server::{duration, size};
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One policy as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Path of the `.wasm` module (relative to the working directory).
    pub module: String,
    /// Expected SHA-256 (hex) of the module; a mismatch refuses it.
    pub sha256: Option<String>,
    /// JSON handed to the guest by `get_config`.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// `allow` (forward unchanged) or `deny` (503) when a call traps or times out.
    #[serde(default)]
    pub on_error: OnErrorSpec,
    /// Per-call limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// `enforce` (default) or `shadow`.
    #[serde(default)]
    pub mode: Mode,
    /// Requests and the decision each must get before the module goes live.
    #[serde(default)]
    pub tests: Vec<PolicyTest>,
}

/// `on_error` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnErrorSpec {
    /// Forward the request as it arrived.
    Allow,
    /// Refuse with 503.
    #[default]
    Deny,
}

/// `mode` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Its decisions apply.
    #[default]
    Enforce,
    /// Runs on the same requests and counts where it would have acted; never acts.
    Shadow,
}

/// `limits:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Wall time per call (default 5ms).
    pub time: Option<String>,
    /// Linear memory (default 16MiB).
    pub memory: Option<String>,
    /// Fuel per call (default: unmetered).
    pub fuel: Option<u64>,
}

/// One declared test.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyTest {
    /// The request.
    pub request: TestRequest,
    /// What must come of it.
    pub expect: TestExpect,
}

/// A test request.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Method (default GET).
    #[serde(default = "get")]
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body.
    #[serde(default)]
    pub body: String,
}

fn get() -> String {
    "GET".into()
}

/// The expected decision.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestExpect {
    /// The pool it routes to (`~`/absent: not checked; use `none` for no choice).
    pub pool: Option<String>,
    /// The variant it picks.
    pub variant: Option<String>,
    /// The status when it answers itself (absent: it must not answer).
    pub status: Option<u16>,
    /// Request headers it must have set.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A compiled policy entry (the module is compiled by the server).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Name.
    pub name: String,
    /// Module path.
    pub module: PathBuf,
    /// Pin.
    pub sha256: Option<String>,
    /// Guest config as JSON text.
    pub config_json: String,
    /// Allow on error.
    pub allow_on_error: bool,
    /// Wall time per call.
    pub time: Duration,
    /// Memory limit.
    pub memory: u64,
    /// Fuel.
    pub fuel: Option<u64>,
    /// Shadow mode.
    pub shadow: bool,
    /// Declared tests.
    pub tests: Vec<PolicyTest>,
}

/// Compiles `policies:`.
pub fn compile(spec: &BTreeMap<String, PolicySpec>, errs: &mut Errors) -> Vec<PolicyConfig> {
    spec.iter()
        .map(|(name, p)| {
            let path = format!("policies.{name}");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                errs.at(&path, "policy names are letters, digits, - and _");
            }
            if let Some(pin) = &p.sha256 {
                if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                    errs.at(format!("{path}.sha256"), "expected 64 hex digits");
                }
            }
            let time = duration(
                &p.limits.time,
                Duration::from_millis(5),
                &format!("{path}.limits.time"),
                errs,
            );
            if time.is_zero() || time > Duration::from_secs(1) {
                errs.at(
                    format!("{path}.limits.time"),
                    "must be above 0 and at most 1s",
                );
            }
            let memory = size(
                &p.limits.memory,
                16 << 20,
                &format!("{path}.limits.memory"),
                errs,
            );
            if memory < 64 << 10 {
                errs.at(format!("{path}.limits.memory"), "must be at least 64KiB");
            }
            PolicyConfig {
                name: name.clone(),
                module: PathBuf::from(&p.module),
                sha256: p.sha256.as_ref().map(|s| s.to_ascii_lowercase()),
                config_json: p
                    .config
                    .as_ref()
                    .map_or_else(|| "{}".to_owned(), ToString::to_string),
                allow_on_error: p.on_error == OnErrorSpec::Allow,
                time,
                memory,
                fuel: p.limits.fuel,
                shadow: p.mode == Mode::Shadow,
                tests: p.tests.clone(),
            }
        })
        .collect()
}
