//! A loaded policy: [`Policy::load`] verifies the pin, compiles, vets imports and exports,
//! pre-links against the host's ABI (`InstancePre`) and creates a first instance (running
//! `_start`, which also learns the features the guest enables up front); [`Policy::handle`]
//! runs `handle_request` on a pooled instance. Loading is slow (compilation): do it off the
//! request path. Handling is cheap and thread-safe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmtime::Module;

use crate::engine::Host;
use crate::error::{CallError, LoadError};
use crate::limits::{Limits, MAX_CONFIG};
use crate::pool::{Factory, Pool, SlotError};
use crate::request::{Decision, Request};
use crate::state::{Shared, FEATURE_BUFFER_REQUEST};
use crate::validate;

/// A compiled, vetted policy module with its configuration, limits and idle instances.
/// `Send + Sync`: share one `Arc<Policy>` between worker threads.
pub struct Policy {
    factory: Factory,
    pool: Pool,
    features: u32,
    sha256: String,
}

/// Counters for tests and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyStats {
    /// Instances created since load (the first one at load included).
    pub instances_created: u64,
    /// Instances idle in the pool now.
    pub idle: usize,
}

impl Policy {
    /// Compiles and validates `wasm`: the sha256 pin (when given) must match; every import
    /// must be one of the 19 `http_handler` functions or the four WASI stubs (else
    /// [`LoadError::ForbiddenImport`] naming it); `memory`, `handle_request` and
    /// `handle_response` must be exported with their ABI types; a first instance is created
    /// and its `_start` (if exported) must succeed within the limits. `config_json` is what
    /// `get_config` returns (at most [`MAX_CONFIG`] bytes). Slow (compiles): call it off the
    /// request path, e.g. in `spawn_blocking`.
    pub fn load(
        host: &Host,
        name: &str,
        wasm: &[u8],
        config_json: &[u8],
        limits: Limits,
        sha256: Option<&str>,
    ) -> Result<Policy, LoadError> {
        let digest = validate::sha256_hex(wasm);
        validate::check_pin(&digest, sha256)?;
        check_limits(host, &limits, config_json)?;
        let module =
            Module::new(&host.engine, wasm).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        validate::check_imports(&module)?;
        validate::check_exports(&module)?;
        let pre = host
            .linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let shared = Arc::new(Shared {
            name: name.into(),
            config: config_json.into(),
            log: host.options.log.clone(),
        });
        let factory = Factory {
            pre,
            shared,
            limits,
            tick: host.options.epoch_tick,
            fuel_metered: host.options.fuel,
            created: AtomicU64::new(0),
        };
        let first = factory.create().map_err(|e| match e {
            SlotError::Instantiate(m) => LoadError::Instantiate(m),
            SlotError::Start(e) => LoadError::StartTrapped(e.to_string()),
        })?;
        let policy = Policy {
            features: first.base_features(),
            pool: Pool::new(host.options.max_idle_instances),
            factory,
            sha256: digest,
        };
        policy.pool.give(first);
        Ok(policy)
    }

    /// Runs the guest's `handle_request` on `req`, on an idle instance (a new one only when
    /// none is idle). On `Ok(Decision::Continue)` `req` may have been changed in place; on any
    /// error `req` is exactly as it was, the instance is discarded, and the caller applies
    /// its [`crate::OnError`] and counts [`CallError::kind`]. Blocks the calling thread for at
    /// most about [`Limits::time`] (a fresh instance may add its `_start`).
    pub fn handle(&self, req: &mut Request) -> Result<Decision, CallError> {
        let mut slot = match self.pool.take() {
            Some(slot) => slot,
            None => self.factory.create().map_err(|e| match e {
                SlotError::Instantiate(m) => CallError::Instantiate(m),
                SlotError::Start(e) => e,
            })?,
        };
        let result = slot.run(&self.factory, req);
        if result.is_ok() {
            self.pool.give(slot);
        }
        result
    }

    /// The name the policy was loaded under (log lines carry it).
    pub fn name(&self) -> &str {
        &self.factory.shared.name
    }

    /// Whether the guest enabled `buffer_request` in `_start`: the caller should then read the
    /// body (within its own size limit) into [`Request::body`] before [`Policy::handle`].
    /// Otherwise `read_body` sees an empty body.
    pub fn wants_body(&self) -> bool {
        self.features & FEATURE_BUFFER_REQUEST != 0
    }

    /// The feature bits the guest enabled during `_start` (buffer_request=1, …).
    pub fn features(&self) -> u32 {
        self.features
    }

    /// The module's sha256, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The limits each call runs under.
    pub fn limits(&self) -> Limits {
        self.factory.limits
    }

    /// Instance counters.
    pub fn stats(&self) -> PolicyStats {
        PolicyStats {
            instances_created: self.factory.created.load(Ordering::Relaxed),
            idle: self.pool.idle(),
        }
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name())
            .field("sha256", &self.sha256)
            .field("limits", &self.factory.limits)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
}

fn check_limits(host: &Host, limits: &Limits, config: &[u8]) -> Result<(), LoadError> {
    if limits.time.is_zero() {
        return Err(LoadError::Invalid(
            "the time limit must be above zero".into(),
        ));
    }
    if limits.memory < 64 * 1024 {
        return Err(LoadError::Invalid(
            "the memory limit must be at least one 64 KiB page".into(),
        ));
    }
    if limits.fuel.is_some() && !host.options.fuel {
        return Err(LoadError::Invalid(
            "a fuel limit needs a host built with fuel metering".into(),
        ));
    }
    if config.len() > MAX_CONFIG {
        return Err(LoadError::Invalid(format!(
            "config larger than {MAX_CONFIG} bytes"
        )));
    }
    Ok(())
}
