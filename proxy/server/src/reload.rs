//! Reloading the config file: read and compile it off the request path, judge it against the
//! change freeze (a reload with a frozen risk-increasing change is held whole), audit it, then
//! build and store the new snapshot in one step. On any error the last good snapshot keeps
//! serving and the status says why; settings bound at start are reported as needing a restart.

use crate::audit::AuditEntry;
use crate::forward::pools;
use crate::live::{load_generation, now_rfc3339, Generation, Shared};
use serde::Serialize;
use std::sync::Arc;
use std::time::SystemTime;
use switchyard_core::config::{Config, ConfigError};

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The config file changed on disk.
    FileWatch,
    /// SIGHUP.
    Signal,
    /// `POST /api/v1/reload`.
    Api,
    /// A reload held by a freeze, retried when the window ended or a break-glass opened.
    Held,
}

/// A reload held whole because it contains a frozen risk-increasing change.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    /// The config file hash that is held.
    pub hash: String,
    /// The window that froze it.
    pub window: String,
    /// When that window ends (the reload then applies by itself).
    pub until: String,
    /// The frozen risk-increasing changes.
    pub changes: Vec<switchyard_core::change::Change>,
}

/// The last reload attempt, for `/api/v1/status`.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadStatus {
    /// When.
    pub at: String,
    /// What triggered it.
    pub trigger: Trigger,
    /// `applied`, `unchanged`, `refused` or `held`.
    pub result: &'static str,
    /// Every problem found (`path: message`).
    pub errors: Vec<String>,
    /// Settings that changed but only take effect on restart.
    pub needs_restart: Vec<String>,
}

impl Shared {
    /// Reloads the config file: validate and compile off the request path, then swap.
    pub async fn reload(&self, trigger: Trigger, actor: &str) -> ReloadStatus {
        let _one_at_a_time = self.reload_lock.lock().await;
        let path = self.config_path.clone();
        let (host, kept) = (self.wasm.clone(), self.policy_registry.clone());
        let compiled =
            tokio::task::spawn_blocking(move || load_generation(&path, &host, &kept)).await;
        let compiled = compiled.unwrap_or_else(|e| {
            Err(vec![ConfigError {
                path: String::new(),
                message: format!("compile task failed: {e}"),
            }])
        });
        let old = self.live.load_full();
        let mut status = ReloadStatus {
            at: now_rfc3339(),
            trigger,
            result: "applied",
            errors: Vec::new(),
            needs_restart: Vec::new(),
        };
        match compiled {
            Err(errors) => {
                status.result = "refused";
                status.errors = errors.iter().map(ToString::to_string).collect();
                self.metrics.reloads.with_label_values(&["failure"]).inc();
                let entry = AuditEntry::new(actor, "config.reload", "config")
                    .state(&old.hash, &old.hash)
                    .reason(&format!("{trigger:?}"))
                    .result("refused");
                if let Err(e) = self.audit.append(entry) {
                    status.errors.push(e);
                }
            }
            Ok(g) if g.hash == old.hash => status.result = "unchanged",
            Ok(g) => match crate::freeze::reload::judge(self, &old, &g) {
                Err(held) => self.hold(&mut status, held, actor, &old.hash),
                Ok(exempt) => {
                    status.needs_restart = restart_only_changes(&old.config, &g.config);
                    self.apply(
                        &mut status,
                        old.version + 1,
                        g,
                        (actor, trigger),
                        &exempt,
                        &old.hash,
                    );
                }
            },
        }
        if status.result != "held" {
            *self.held.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
        status
    }
}

impl Shared {
    /// Applies a compiled config: audited first (a change that cannot be audited is not
    /// made), then pools, health checks, metrics and one snapshot store.
    fn apply(
        &self,
        status: &mut ReloadStatus,
        version: u64,
        g: Generation,
        (actor, trigger): (&str, Trigger),
        exempt: &[String],
        old_hash: &str,
    ) {
        let Generation {
            config: cfg,
            hash,
            policies,
        } = g;
        let entry = AuditEntry::new(actor, "config.reload", "config")
            .state(old_hash, &hash)
            .reason(&format!("{trigger:?}"))
            .break_glass(exempt.first().map(String::as_str))
            .result("applied");
        if let Err(e) = self.audit.append(entry) {
            status.result = "refused";
            status.errors.push(e);
            self.metrics.reloads.with_label_values(&["failure"]).inc();
            return;
        }
        self.registry.reconcile_checks(&cfg.pools, &self.metrics);
        self.metrics.config_info.reset();
        self.metrics
            .config_info
            .with_label_values(&[&version.to_string(), &hash[..12]])
            .set(1);
        self.metrics.reloads.with_label_values(&["success"]).inc();
        let pools = pools(&cfg.pools, &self.registry);
        self.policy_registry.keep(&cfg, &policies);
        self.store_snapshot(
            (version, hash, SystemTime::now()),
            Arc::new(cfg),
            pools,
            policies,
        );
    }

    /// Holds a reload whole: the last good config keeps serving; status, metrics and the
    /// audit log (once per held file) say so.
    fn hold(&self, status: &mut ReloadStatus, held: Held, actor: &str, old_hash: &str) {
        status.result = "held";
        status.errors = held
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} is frozen by window {:?} until {}",
                    c.detail, held.window, held.until
                )
            })
            .collect();
        self.metrics.reloads.with_label_values(&["held"]).inc();
        self.metrics
            .freeze_refusals
            .with_label_values(&["reload"])
            .inc();
        let mut slot = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if slot
            .as_ref()
            .is_none_or(|h| h.hash != held.hash || h.until != held.until)
        {
            let entry = AuditEntry::new(actor, "config.reload", "config")
                .state(old_hash, &held.hash)
                .reason(&format!(
                    "held by freeze window {:?} until {}",
                    held.window, held.until
                ))
                .risk(switchyard_core::change::Risk::Increasing)
                .result("held");
            if let Err(e) = self.audit.append(entry) {
                status.errors.push(e);
            }
        }
        *slot = Some(held);
    }
}

fn restart_only_changes(old: &Config, new: &Config) -> Vec<String> {
    let mut v = Vec::new();
    if old.server.listen != new.server.listen {
        v.push("server.listen".to_owned());
    }
    if old.server.workers != new.server.workers {
        v.push("server.workers".to_owned());
    }
    if old
        .server
        .tls
        .as_ref()
        .map(|t| (t.listen, &t.cert, &t.key, &t.client_ca))
        != new
            .server
            .tls
            .as_ref()
            .map(|t| (t.listen, &t.cert, &t.key, &t.client_ca))
    {
        v.push("server.tls".to_owned());
    }
    if old.server.limits.max_connections != new.server.limits.max_connections {
        v.push("server.limits.max_connections".to_owned());
    }
    if old.admin.listen != new.admin.listen {
        v.push("admin.listen".to_owned());
    }
    if old.state.data_dir != new.state.data_dir {
        v.push("state.data_dir".to_owned());
    }
    if old.state.backend != new.state.backend {
        v.push("state.backend".to_owned());
    }
    if old.observability.access_log != new.observability.access_log {
        v.push("observability.access_log".to_owned());
    }
    v
}
