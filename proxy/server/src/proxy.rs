//! Bringing a proxy up and down: load and compile the config, open the audit log, build the
//! shared state, bind the data-plane workers, and run the control plane (admin API, file
//! watch, health checks, signals) on its own thread. [`Running::shutdown`] drains: readiness
//! turns 503, listeners stop accepting, in-flight requests finish within the grace period,
//! logs are flushed.

use crate::audit::{AuditEntry, AuditLog};
use crate::listener::{self, Bound};
use crate::live::{load_generation, Shared, Start, Trigger};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::watch;

/// How to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// Config file.
    pub config_path: PathBuf,
    /// Watch the config file for changes.
    pub watch: bool,
    /// Handle SIGHUP (reload) and SIGTERM/SIGINT (drain) — the binary does, tests don't.
    pub signals: bool,
}

/// A started proxy.
pub struct Running {
    /// Data-plane addresses.
    pub data: Bound,
    /// Admin address.
    pub admin: SocketAddr,
    /// Shared state.
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    workers: Vec<std::thread::JoinHandle<()>>,
    control: Option<std::thread::JoinHandle<()>>,
}

/// Starts a proxy; errors are `path: message` lines.
pub fn start(opts: Options) -> Result<Running, Vec<String>> {
    let strings = |errs: Vec<switchyard_core::config::ConfigError>| {
        errs.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let (first, _) = crate::live::load_file(&opts.config_path).map_err(strings)?;
    let wasm =
        Arc::new(crate::policies::host(&first).map_err(|e| vec![format!("wasm host: {e}")])?);
    let registry = Arc::new(crate::policies::Registry::default());
    let g = load_generation(&opts.config_path, &wasm, &registry).map_err(strings)?;
    registry.keep(&g.config, &g.policies);
    let (cfg, hash) = (g.config, g.hash);
    let audit = AuditLog::open(&cfg.state.data_dir.join("audit.log"))
        .map_err(|e| vec![format!("state.data_dir: {e}")])?;
    let admin_addr = cfg.admin.listen;
    // The control runtime exists first: the state backend's background tasks live on it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| vec![format!("control runtime: {e}")])?;
    let (store, overrides, freeze) = rt.block_on(open_state(&cfg.state))?;
    let spool = switchyard_spool::Spool::open(switchyard_spool::SpoolOptions {
        dir: cfg.state.data_dir.join("spool"),
        max_bytes: cfg.spool.max_bytes,
        segment_bytes: cfg.spool.segment_bytes,
    })
    .map_err(|e| {
        vec![format!(
            "spool ({}): {e}",
            cfg.state.data_dir.join("spool").display()
        )]
    })?;
    let shared = Shared::new(Start {
        config_path: opts.config_path.clone(),
        config: cfg,
        hash: hash.clone(),
        audit,
        store,
        overrides,
        freeze,
        spool: Arc::new(spool),
        wasm,
        policies: (g.policies, registry),
    });
    let _ = shared
        .audit
        .append(AuditEntry::new("system", "proxy.start", "config").state((), &hash));
    let (tx, rx) = watch::channel(false);
    let admin = std::net::TcpListener::bind(admin_addr)
        .map_err(|e| vec![format!("admin.listen {admin_addr}: {e}")])?;
    let _ = admin.set_nonblocking(true);
    let admin_bound = admin.local_addr().map_err(|e| vec![e.to_string()])?;
    let (data, workers) = listener::start(shared.clone(), rx.clone()).map_err(|e| vec![e])?;
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let control = {
        let (shared, tx2) = (shared.clone(), tx.clone());
        std::thread::Builder::new()
            .name("switchyard-control".into())
            .spawn(move || control(rt, shared, admin, opts, rx, tx2, ready_tx))
            .map_err(|e| vec![e.to_string()])?
    };
    // Started means watched: a config change made right after start is not missed.
    let _ = ready.recv_timeout(std::time::Duration::from_secs(10));
    Ok(Running {
        data,
        admin: admin_bound,
        shared,
        shutdown: tx,
        workers,
        control: Some(control),
    })
}

/// What the state backend holds at start.
type Stored = (
    switchyard_state::Store,
    crate::canary::Overrides,
    crate::freeze::FreezeState,
);

/// Opens the state backend and reads canary overrides, manual freezes and break-glass. A
/// redis that is down at start is not fatal: the proxy serves config values and applies the
/// stored ones once redis answers.
async fn open_state(state: &switchyard_core::config::StateConfig) -> Result<Stored, Vec<String>> {
    use switchyard_core::config::Backend;
    let backend = match &state.backend {
        Backend::Local => switchyard_state::BackendConfig::Local {
            data_dir: state.data_dir.clone(),
        },
        Backend::Redis {
            url,
            prefix,
            timeout,
        } => switchyard_state::BackendConfig::Redis {
            settings: switchyard_state::RedisSettings {
                url: url.clone(),
                prefix: prefix.clone(),
                timeout: *timeout,
            },
        },
    };
    let store = switchyard_state::Store::open(&backend)
        .await
        .map_err(|e| vec![format!("state: {e}")])?;
    let read = async {
        let overrides = crate::canary::parse_all(store.get_all(crate::canary::NS).await?).0;
        let freezes = store.get_all(crate::freeze::NS_FREEZES).await?;
        let glass = store.get_all(crate::freeze::NS_GLASS).await?;
        let freeze = crate::freeze::FreezeState::parse(freezes, glass).0;
        Ok::<_, switchyard_state::StateError>((overrides, freeze))
    };
    match read.await {
        Ok((overrides, freeze)) => Ok((store, overrides, freeze)),
        Err(e) if store.backend_name() == "redis" => {
            eprintln!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "redis unreachable at start; serving config values until it answers", "error": e.to_string()})
            );
            Ok((store, Default::default(), Default::default()))
        }
        Err(e) => Err(vec![format!("state: {e}")]),
    }
}

/// Mirrors audit lines to the redis stream `<prefix>audit` (best effort: the file is the
/// record; a line redis missed is reported, not retried forever).
async fn mirror_audit(shared: Arc<Shared>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    shared.audit.mirror_to(tx);
    while let Some(line) = rx.recv().await {
        if let Err(e) = shared.store().append_stream("audit", &line, 100_000).await {
            eprintln!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "audit mirror", "error": e.to_string()})
            );
        }
    }
}

fn control(
    rt: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    admin: std::net::TcpListener,
    opts: Options,
    mut rx: watch::Receiver<bool>,
    tx: watch::Sender<bool>,
    ready: std::sync::mpsc::Sender<()>,
) {
    rt.block_on(async move {
        shared.start_checks();
        tokio::spawn(crate::control::run(shared.clone(), rx.clone()));
        tokio::spawn(crate::webhooks::delivery::run(shared.clone(), rx.clone()));
        if shared.store().backend_name() == "redis" {
            tokio::spawn(mirror_audit(shared.clone()));
        }
        let _watcher = if opts.watch {
            crate::watch::spawn(shared.clone())
                .map_err(|e| eprintln!("{}", serde_json::json!({"level": "warn", "msg": e})))
                .ok()
        } else {
            None
        };
        if opts.signals {
            tokio::spawn(signals(shared.clone(), tx));
        }
        let _ = ready.send(());
        let app = crate::admin::router(shared.clone());
        let Ok(listener) = tokio::net::TcpListener::from_std(admin) else {
            return;
        };
        let stop = async move {
            let _ = rx.wait_for(|v| *v).await;
        };
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await;
        shared.registry.stop_checks();
    });
}

async fn signals(shared: Arc<Shared>, tx: watch::Sender<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => {
                let st = shared.reload(Trigger::Signal, "sighup").await;
                eprintln!("{}", serde_json::json!({"level": "info", "msg": "config reload", "status": st}));
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    shared.draining.store(true, Ordering::Relaxed);
    eprintln!(
        "{}",
        serde_json::json!({"level": "info", "msg": "draining"})
    );
    let _ = tx.send(true);
}

impl Running {
    /// Starts draining (as SIGTERM does) and waits until done.
    pub fn shutdown(self) {
        self.shared.draining.store(true, Ordering::Relaxed);
        let _ = self.shutdown.send(true);
        self.wait();
    }

    /// Waits until the proxy has drained (after SIGTERM or [`Running::shutdown`]).
    pub fn wait(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        if let Some(c) = self.control.take() {
            let _ = c.join();
        }
        let _ = self
            .shared
            .audit
            .append(AuditEntry::new("system", "proxy.stop", "config"));
        self.shared.access_log.close();
    }
}
