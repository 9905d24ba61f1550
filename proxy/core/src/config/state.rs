//! `state:` — where switchyard keeps what must outlive a process: the audit log now, and
//! overrides and the webhook spool as they arrive. `local` is the embedded default.

use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;

/// `state:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    /// `local` (files under data_dir).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Directory for the audit log and other durable state.
    #[serde(default = "default_dir")]
    pub data_dir: String,
}

fn default_backend() -> String {
    "local".into()
}

fn default_dir() -> String {
    "./data".into()
}

impl Default for StateSpec {
    fn default() -> Self {
        StateSpec {
            backend: default_backend(),
            data_dir: default_dir(),
        }
    }
}

/// Compiled `state:`.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// Data directory.
    pub data_dir: PathBuf,
}

/// Compiles `state:`.
pub fn compile(spec: &StateSpec, errs: &mut Errors) -> StateConfig {
    match spec.backend.as_str() {
        "local" => {}
        "redis" => errs.at(
            "state.backend",
            "the redis backend is not available in this build yet; use `local`",
        ),
        other => errs.at(
            "state.backend",
            format!("unknown backend {other:?} (expected local)"),
        ),
    }
    if spec.data_dir.is_empty() {
        errs.at("state.data_dir", "must not be empty");
    }
    StateConfig {
        data_dir: PathBuf::from(&spec.data_dir),
    }
}
