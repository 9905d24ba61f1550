//! The live configuration. A [`Snapshot`] is immutable: the compiled config plus the pool
//! runtimes built for it. [`Shared`] holds the one `ArcSwap<Snapshot>` the data plane loads
//! once per request and the long-lived runtime parts (upstream registry, metrics, access log,
//! audit log, state backend, freeze state, admission); reloading lives in [`crate::reload`].
//! Canary overrides read from the state backend are resolved into each snapshot
//! ([`Snapshot::canary`]); a change of overrides stores a new snapshot of the same version.

use crate::access_log::AccessLog;
use crate::audit::AuditLog;
use crate::canary::{self, Effective, Guards, Overrides};
use crate::forward::{pools, PoolRuntime};
use crate::health::Registry;
use crate::metrics::Metrics;
pub use crate::reload::{Held, ReloadStatus, Trigger};
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use switchyard_core::canary::guard::GuardWindow;
use switchyard_core::config::{self, Config, ConfigError};
use switchyard_state::Store;

/// One immutable generation of configuration.
pub struct Snapshot {
    /// Increments with every applied reload (1 = the config at start).
    pub version: u64,
    /// SHA-256 of the config file bytes.
    pub hash: String,
    /// When it went live.
    pub loaded_at: SystemTime,
    /// The compiled config.
    pub config: Arc<Config>,
    /// Pool runtimes, indexed like `config.pools`.
    pub pools: Vec<Arc<PoolRuntime>>,
    /// The canary weight in force per route (config ⊕ overrides), indexed like `config.routes`.
    pub canary: Vec<Effective>,
    /// Guard windows per route (routes with `canary.guard`), indexed like `config.routes`.
    pub guards: Vec<Option<Arc<Mutex<GuardWindow>>>>,
    /// Admission state per tenant (indexed like `tenants.names`, then one for no tenant).
    pub tenant_rt: Vec<Arc<crate::admission::TenantRt>>,
    /// Fair queues per pool, indexed like `config.pools`.
    pub queues: Vec<Arc<crate::admission::PoolQueue>>,
    /// Local rate buckets per partner, indexed like `config.partners`.
    pub partner_buckets: Vec<Arc<crate::admission::RateBucket>>,
    /// Policy slots, indexed like `config.policies`.
    pub policies: Vec<Arc<crate::policies::Slot>>,
}

/// Long-lived state shared by the data plane and the control plane.
pub struct Shared {
    /// The live snapshot.
    pub live: ArcSwap<Snapshot>,
    /// Upstream health and pool parts by name.
    pub registry: Arc<Registry>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Access log.
    pub access_log: AccessLog,
    /// Audit log.
    pub audit: AuditLog,
    /// The config file.
    pub config_path: PathBuf,
    /// Data-plane worker threads.
    pub workers: usize,
    /// Last reload.
    pub last_reload: Mutex<Option<ReloadStatus>>,
    /// True once SIGTERM was received.
    pub draining: AtomicBool,
    /// The state backend.
    store: Store,
    /// Canary overrides as last read from the backend.
    pub overrides: Mutex<Overrides>,
    /// Guard windows by route name (they outlive snapshots).
    pub guards: Guards,
    /// Manual freezes and break-glass exemptions as last read from the backend.
    pub freeze: ArcSwap<crate::freeze::FreezeState>,
    /// Admission state by tenant and pool name (it outlives snapshots).
    pub admission: crate::admission::Registry,
    /// The durable webhook spool.
    pub spool: Arc<switchyard_spool::Spool>,
    /// The wasmtime host of the policies.
    pub wasm: Arc<switchyard_wasm::Host>,
    /// Policy slots by name (they outlive snapshots while their module is unchanged).
    pub policy_registry: Arc<crate::policies::Registry>,
    /// A reload held by a freeze, applied by the controller once the gate opens.
    pub held: Mutex<Option<Held>>,
    /// The origin of the monotonic clock guards are fed with.
    pub started: Instant,
    /// Serialises reloads and snapshot rebuilds.
    pub(crate) reload_lock: tokio::sync::Mutex<()>,
}

/// SHA-256 hex of bytes.
pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Reads and compiles a config file. The hash covers the file and every policy module it
/// names, so a changed module is a changed config.
pub fn load_file(path: &std::path::Path) -> Result<(Config, String), Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            path: String::new(),
            message: format!("cannot read {}: {e}", path.display()),
        }]
    })?;
    let cfg = config::load(&text, &crate::envsrc::ProcessEnv)?;
    let mut all = text.into_bytes();
    for p in &cfg.policies {
        if let Ok(module) = std::fs::read(&p.module) {
            all.extend_from_slice(sha256_hex(&module).as_bytes());
        }
    }
    Ok((cfg, sha256_hex(&all)))
}

/// A compiled generation: the config, its hash and its policy modules.
pub struct Generation {
    /// The config.
    pub config: Config,
    /// Hash of the file and its modules.
    pub hash: String,
    /// Policy slots, indexed like `config.policies`.
    pub policies: Vec<Arc<crate::policies::Slot>>,
}

/// Reads the config and compiles its policies (slow: call off the request path).
pub fn load_generation(
    path: &std::path::Path,
    host: &switchyard_wasm::Host,
    kept: &crate::policies::Registry,
) -> Result<Generation, Vec<ConfigError>> {
    let (config, hash) = load_file(path)?;
    let policies = crate::policies::load(host, &config, kept)?;
    Ok(Generation {
        config,
        hash,
        policies,
    })
}

/// Milliseconds since the Unix epoch (wall clock; ramp schedules are shared by replicas).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a new shared state starts from.
pub struct Start {
    /// The config file.
    pub config_path: PathBuf,
    /// Its compiled contents.
    pub config: Config,
    /// Its hash.
    pub hash: String,
    /// The opened audit log.
    pub audit: AuditLog,
    /// The opened state backend.
    pub store: Store,
    /// Canary overrides read from it.
    pub overrides: Overrides,
    /// Manual freezes and break-glass read from it.
    pub freeze: crate::freeze::FreezeState,
    /// The opened webhook spool.
    pub spool: Arc<switchyard_spool::Spool>,
    /// The wasmtime host.
    pub wasm: Arc<switchyard_wasm::Host>,
    /// The policy slots of the first config (and the registry keeping them).
    pub policies: (
        Vec<Arc<crate::policies::Slot>>,
        Arc<crate::policies::Registry>,
    ),
}

impl Shared {
    /// Builds the shared state around the first config.
    pub fn new(start: Start) -> Arc<Self> {
        let cfg = start.config;
        let registry = Arc::new(Registry::new(cfg.server.workers));
        let metrics = Arc::new(Metrics::new());
        let workers = cfg.server.workers;
        let access_log = AccessLog::start(cfg.observability.access_log);
        let guards = Guards::default();
        let admission = crate::admission::Registry::default();
        let snap = Snapshot {
            tenant_rt: admission.tenants(&cfg, &metrics),
            queues: admission.pools(&cfg),
            partner_buckets: admission.partners(&cfg, &metrics),
            policies: start.policies.0,
            version: 1,
            pools: pools(&cfg.pools, &registry),
            hash: start.hash,
            loaded_at: SystemTime::now(),
            canary: canary::effective(&cfg, &start.overrides),
            guards: guards.for_config(&cfg),
            config: Arc::new(cfg),
        };
        metrics
            .config_info
            .with_label_values(&["1", &snap.hash[..12]])
            .set(1);
        metrics.set_canary_weights(&snap);
        Arc::new(Shared {
            live: ArcSwap::from_pointee(snap),
            registry,
            metrics,
            access_log,
            audit: start.audit,
            config_path: start.config_path,
            workers,
            last_reload: Mutex::new(None),
            draining: AtomicBool::new(false),
            store: start.store,
            overrides: Mutex::new(start.overrides),
            guards,
            freeze: ArcSwap::from_pointee(start.freeze),
            admission,
            spool: start.spool,
            wasm: start.wasm,
            policy_registry: start.policies.1,
            held: Mutex::new(None),
            started: Instant::now(),
            reload_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The state backend.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Re-reads manual freezes and break-glass exemptions. A backend error keeps the last
    /// known ones.
    pub async fn refresh_freeze(&self) {
        use crate::freeze::{FreezeState, NS_FREEZES, NS_GLASS};
        let read = async {
            let f = self.store.get_all(NS_FREEZES).await?;
            let g = self.store.get_all(NS_GLASS).await?;
            Ok::<_, switchyard_state::StateError>((f, g))
        };
        match read.await {
            Ok((f, g)) => {
                let (st, bad) = FreezeState::parse(f, g);
                for b in bad {
                    eprintln!(
                        "{}",
                        serde_json::json!({"level": "warn", "msg": "ignoring an unreadable freeze record", "record": b})
                    );
                }
                self.freeze.store(Arc::new(st));
            }
            Err(e) => eprintln!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "freeze state unreadable", "error": e.to_string()})
            ),
        }
    }

    /// The freeze's answer for `target` now.
    pub fn gate(&self, target: &switchyard_core::freeze::Target<'_>) -> crate::freeze::Gate {
        let snap = self.live.load();
        crate::freeze::gate(
            &snap.config.freeze,
            &self.freeze.load(),
            chrono::Utc::now(),
            target,
        )
    }

    /// Re-reads the canary overrides and, if they changed, stores a snapshot with the new
    /// weights (same version: the config did not change). A backend error keeps the last
    /// known overrides.
    pub async fn refresh_canary(&self) {
        let read = match self.store.get_all(canary::NS).await {
            Ok(raw) => raw,
            Err(e) => {
                eprintln!(
                    "{}",
                    serde_json::json!({"level": "warn", "msg": "canary overrides unreadable", "error": e.to_string()})
                );
                return;
            }
        };
        let (fresh, bad) = canary::parse_all(read);
        for route in bad {
            eprintln!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "ignoring an unreadable canary override", "route": route})
            );
        }
        let _one_at_a_time = self.reload_lock.lock().await;
        {
            let mut cur = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
            if *cur == fresh {
                return;
            }
            *cur = fresh;
        }
        let old = self.live.load_full();
        self.store_snapshot(
            (old.version, old.hash.clone(), old.loaded_at),
            old.config.clone(),
            old.pools.clone(),
            old.policies.clone(),
        );
    }

    /// Builds and stores a snapshot with the current overrides resolved.
    pub(crate) fn store_snapshot(
        &self,
        (version, hash, loaded_at): (u64, String, SystemTime),
        config: Arc<Config>,
        pools: Vec<Arc<PoolRuntime>>,
        policies: Vec<Arc<crate::policies::Slot>>,
    ) {
        let canary = {
            let o = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
            canary::effective(&config, &o)
        };
        let snap = Snapshot {
            tenant_rt: self.admission.tenants(&config, &self.metrics),
            queues: self.admission.pools(&config),
            partner_buckets: self.admission.partners(&config, &self.metrics),
            policies,
            version,
            hash,
            loaded_at,
            guards: self.guards.for_config(&config),
            canary,
            config,
            pools,
        };
        self.metrics.set_canary_weights(&snap);
        self.live.store(Arc::new(snap));
    }

    /// Forgets a route's guard samples (after its weight changed).
    pub fn reset_guard(&self, route: &str) {
        let snap = self.live.load();
        if let Some(i) = snap.config.routes.iter().position(|r| r.name == route) {
            if let Some(Some(g)) = snap.guards.get(i) {
                g.lock().unwrap_or_else(|e| e.into_inner()).reset();
            }
        }
    }

    /// Starts health checks for the current snapshot (call on the control runtime).
    pub fn start_checks(&self) {
        self.registry
            .reconcile_checks(&self.live.load().config.pools, &self.metrics);
    }

    /// True once draining started.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

/// Now as RFC 3339 with milliseconds (UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
