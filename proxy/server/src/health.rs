//! Upstream health, kept by (pool, endpoint) name so it survives reloads: an active checker
//! per endpoint with a `health:` block (GET the path; 2xx/3xx healthy; a timeout or error
//! unhealthy), passive ejection of endpoints that refuse connections, and the long-lived per-endpoint parts (idle connections per worker) and per-pool cursors
//! that a new snapshot reuses instead of rebuilding.

use crate::metrics::Metrics;
use crate::upstream::IdleConns;
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchyard_core::config::{Endpoint, HealthCheck, Pool};

/// One endpoint's health.
#[derive(Debug)]
pub struct EndpointHealth {
    /// Pool name.
    pub pool: String,
    /// Endpoint as configured.
    pub url: String,
    /// `host:port`.
    pub authority: String,
    /// Keep-alive connections to it, per worker.
    pub idle: Arc<IdleConns>,
    healthy: AtomicBool,
    connect_failures: AtomicU64,
    /// Passive ejection: skipped until this many ms after `epoch` (0 = not ejected).
    ejected_until: AtomicU64,
    epoch: Instant,
}

/// How long an endpoint that refused a connection is skipped (passive health).
pub const EJECT_FOR: Duration = Duration::from_secs(5);

impl EndpointHealth {
    /// True unless the last active check failed or a recent connect failed.
    pub fn is_healthy(&self) -> bool {
        if !self.healthy.load(Ordering::Relaxed) {
            return false;
        }
        let until = self.ejected_until.load(Ordering::Relaxed);
        until == 0 || self.epoch.elapsed().as_millis() as u64 >= until
    }
    /// Records a failed connect from the data plane and ejects the endpoint for [`EJECT_FOR`].
    pub fn mark_failed(&self) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
        let until = (self.epoch.elapsed() + EJECT_FOR).as_millis() as u64;
        self.ejected_until.store(until.max(1), Ordering::Relaxed);
    }
    /// Connect failures seen by the data plane.
    pub fn connect_failures(&self) -> u64 {
        self.connect_failures.load(Ordering::Relaxed)
    }
}

type Checker = (HealthCheck, tokio::task::JoinHandle<()>);

/// Long-lived upstream state, keyed by config names.
pub struct Registry {
    workers: usize,
    endpoints: Mutex<HashMap<(String, String), Arc<EndpointHealth>>>,
    cursors: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    checkers: Mutex<HashMap<(String, String), Checker>>,
}

impl Registry {
    /// An empty registry for `workers` data-plane threads.
    pub fn new(workers: usize) -> Self {
        Registry {
            workers,
            endpoints: Mutex::default(),
            cursors: Mutex::default(),
            checkers: Mutex::default(),
        }
    }

    /// The health record of an endpoint (created healthy on first sight).
    pub fn endpoint(&self, pool: &str, ep: &Endpoint) -> Arc<EndpointHealth> {
        let mut map = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        map.entry((pool.to_owned(), ep.url.clone()))
            .or_insert_with(|| {
                Arc::new(EndpointHealth {
                    pool: pool.to_owned(),
                    url: ep.url.clone(),
                    authority: ep.authority.clone(),
                    idle: Arc::new(IdleConns::new(self.workers)),
                    healthy: AtomicBool::new(true),
                    connect_failures: AtomicU64::new(0),
                    ejected_until: AtomicU64::new(0),
                    epoch: Instant::now(),
                })
            })
            .clone()
    }

    /// The round-robin cursor of a pool.
    pub fn cursor(&self, pool: &str) -> Arc<AtomicUsize> {
        self.cursors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(pool.to_owned())
            .or_default()
            .clone()
    }

    /// Starts, keeps or stops active checkers to match the pools; call on the control runtime.
    pub fn reconcile_checks(self: &Arc<Self>, pools: &[Pool], metrics: &Arc<Metrics>) {
        let mut want: HashMap<(String, String), (HealthCheck, Arc<EndpointHealth>)> =
            HashMap::new();
        for p in pools {
            for ep in &p.endpoints {
                let h = self.endpoint(&p.name, ep);
                metrics
                    .upstream_health
                    .with_label_values(&[&p.name, &ep.url])
                    .set(i64::from(h.is_healthy()));
                if let Some(hc) = &p.health {
                    want.insert((p.name.clone(), ep.url.clone()), (hc.clone(), h));
                }
            }
        }
        let mut running = self.checkers.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|key, (hc, task)| {
            let keep = want.get(key).is_some_and(|(w, _)| w == hc);
            if !keep {
                task.abort();
            }
            keep
        });
        for (key, (hc, ep)) in want {
            if running.contains_key(&key) {
                continue;
            }
            let task = tokio::spawn(check_loop(hc.clone(), ep, metrics.clone()));
            running.insert(key, (hc, task));
        }
    }

    /// Stops every checker (shutdown).
    pub fn stop_checks(&self) {
        for (_, (_, t)) in self
            .checkers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            t.abort();
        }
    }
}

async fn check_loop(hc: HealthCheck, ep: Arc<EndpointHealth>, metrics: Arc<Metrics>) {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(hc.timeout));
    let client: Client<HttpConnector, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(http);
    let uri: Option<http::Uri> = format!("http://{}{}", ep.authority, hc.path).parse().ok();
    let mut tick = tokio::time::interval(hc.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ok = match &uri {
            Some(uri) => {
                let req = http::Request::get(uri.clone())
                    .header("user-agent", "switchyard-health")
                    .body(Empty::new());
                match req {
                    Ok(req) => {
                        matches!(tokio::time::timeout(hc.timeout, client.request(req)).await,
                        Ok(Ok(r)) if r.status().is_success() || r.status().is_redirection())
                    }
                    Err(_) => false,
                }
            }
            None => false,
        };
        let was = ep.healthy.swap(ok, Ordering::Relaxed);
        if ok {
            ep.ejected_until.store(0, Ordering::Relaxed);
        }
        if was != ok {
            eprintln!("{{\"level\":\"warn\",\"msg\":\"endpoint health changed\",\"pool\":{:?},\"endpoint\":{:?},\"healthy\":{ok}}}", ep.pool, ep.url);
        }
        metrics
            .upstream_health
            .with_label_values(&[&ep.pool, &ep.url])
            .set(i64::from(ok));
    }
}
