//! `state:` — where switchyard keeps what must outlive a process and, with several replicas,
//! what they share: the audit log and runtime overrides now, the webhook spool and limiter
//! state as they arrive. `local` (files under `data_dir`) is the embedded default; `redis`
//! shares overrides between replicas (each still keeps its audit log under `data_dir`).

use super::server::duration;
use super::Errors;
use schemars::JsonSchema;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `state:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    /// `local` (files under data_dir) or `redis` (shared by replicas).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Directory for the audit log and other durable state.
    #[serde(default = "default_dir")]
    pub data_dir: String,
    /// Redis connection (backend `redis`).
    pub redis: Option<RedisSpec>,
}

/// `redis:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// `redis://host:port/db`.
    pub url: String,
    /// Key prefix (default `switchyard:`).
    pub prefix: Option<String>,
    /// Longest a data-plane request waits on redis (default 20ms).
    pub timeout: Option<String>,
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
            redis: None,
        }
    }
}

/// The compiled backend choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// Files under `data_dir`.
    Local,
    /// Redis.
    Redis {
        /// URL.
        url: String,
        /// Key prefix.
        prefix: String,
        /// Data-plane timeout.
        timeout: Duration,
    },
}

/// Compiled `state:`.
#[derive(Debug, Clone)]
pub struct StateConfig {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Backend.
    pub backend: Backend,
}

fn redis(spec: Option<&RedisSpec>, errs: &mut Errors) -> Backend {
    let Some(r) = spec else {
        errs.at("state.redis", "backend redis needs state.redis.url");
        return Backend::Local;
    };
    if !(r.url.starts_with("redis://") || r.url.starts_with("rediss://")) {
        errs.at(
            "state.redis.url",
            format!("invalid URL {:?} (expected redis://host:port/db)", r.url),
        );
    }
    Backend::Redis {
        url: r.url.clone(),
        prefix: r.prefix.clone().unwrap_or_else(|| "switchyard:".into()),
        timeout: duration(
            &r.timeout,
            Duration::from_millis(20),
            "state.redis.timeout",
            errs,
        ),
    }
}

/// Compiles `state:`.
pub fn compile(spec: &StateSpec, errs: &mut Errors) -> StateConfig {
    let backend = match spec.backend.as_str() {
        "local" => {
            if spec.redis.is_some() {
                errs.at("state.redis", "only used with backend: redis");
            }
            Backend::Local
        }
        "redis" => redis(spec.redis.as_ref(), errs),
        other => {
            errs.at(
                "state.backend",
                format!("unknown backend {other:?} (expected local or redis)"),
            );
            Backend::Local
        }
    };
    if spec.data_dir.is_empty() {
        errs.at("state.data_dir", "must not be empty");
    }
    StateConfig {
        data_dir: PathBuf::from(&spec.data_dir),
        backend,
    }
}
