//! Tenant admission at run time (SPEC §3 step 7). Per tenant: a GCRA rate limit whose one
//! number of state (the theoretical arrival time) lives in an atomic, updated lock-free.
//! Per pool: a fair queue (`switchyard_core::fairq`) bounding each tenant's requests in
//! flight by its `max_in_flight`, queueing up to `queue` more, and handing freed slots
//! round-robin across tenants so one tenant's flood cannot starve the others; the pool's
//! `max_in_flight` bounds the sum. A slot is held until the upstream's response head (the
//! [`Permit`] drops when the pipeline returns). Both outlive reloads, keyed by name.

use prometheus::{IntCounter, IntGauge};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchyard_core::config::admission::Admission;
use switchyard_core::config::Config;
use switchyard_core::fairq::{Admit, FairQueue};
use switchyard_core::gcra::{self, Decision, Limit};
use tokio::sync::oneshot;

/// Name of the admission slot shared by requests that name no tenant.
pub const NO_TENANT: &str = "";

/// A local GCRA bucket (tenant or partner) with its decision counters.
pub struct RateBucket {
    /// GCRA theoretical arrival time, ns on the proxy's monotonic clock (0: none yet).
    tat: AtomicU64,
    /// `switchyard_ratelimit_decisions_total{scope,key,result="allowed"}`.
    pub allowed: IntCounter,
    /// `…{result="limited"}`.
    pub limited: IntCounter,
}

/// One tenant's long-lived admission state and metric handles.
pub struct TenantRt {
    /// Stable key in the pool queues (survives reloads that renumber tenants).
    pub key: usize,
    /// Its rate bucket.
    pub bucket: RateBucket,
    /// `switchyard_tenant_in_flight{tenant}`.
    pub in_flight: IntGauge,
}

impl RateBucket {
    /// A fresh bucket counted under `scope`/`key`.
    pub fn new(m: &crate::metrics::Metrics, scope: &str, key: &str) -> RateBucket {
        RateBucket {
            tat: AtomicU64::new(0),
            allowed: m.ratelimit.with_label_values(&[scope, key, "allowed"]),
            limited: m.ratelimit.with_label_values(&[scope, key, "limited"]),
        }
    }

    /// Counts a decision made elsewhere (the shared redis bucket).
    pub fn count(&self, allowed: bool) {
        if allowed {
            self.allowed.inc();
        } else {
            self.limited.inc();
        }
    }

    /// One rate-limit decision at `now_ns`, recorded lock-free.
    pub fn check(&self, limit: &Limit, now_ns: u64) -> Decision {
        let mut cur = self.tat.load(Ordering::Acquire);
        loop {
            let d = gcra::check(limit, (cur != 0).then_some(cur), now_ns, 1);
            if !d.allowed {
                self.limited.inc();
                return d;
            }
            match self.tat.compare_exchange_weak(
                cur,
                d.new_tat,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    self.allowed.inc();
                    return d;
                }
                Err(seen) => cur = seen,
            }
        }
    }
}

struct Inner {
    q: FairQueue<u64>,
    waiters: HashMap<u64, oneshot::Sender<()>>,
    next: u64,
    limit: usize,
}

/// A pool's fair queue.
pub struct PoolQueue(Mutex<Inner>);

/// Why a request was not admitted to a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overloaded {
    /// The tenant's queue is full.
    QueueFull,
    /// It waited its whole allowance.
    Timeout,
}

/// A slot in a pool; released (and handed to the next waiter) on drop.
pub struct Permit {
    queue: Arc<PoolQueue>,
    key: usize,
    gauge: IntGauge,
}

impl PoolQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands freed slots to the waiters `handed`. A waiter whose entry is gone already took
    /// its slot (or withdrew); one that can no longer receive gives the slot straight back.
    fn hand(&self, mut handed: Vec<(usize, u64)>) {
        while let Some((key, id)) = handed.pop() {
            let mut g = self.lock();
            if let Some(tx) = g.waiters.remove(&id) {
                if tx.send(()).is_err() {
                    handed.extend(g.q.release(key));
                }
            }
        }
    }

    /// Takes a slot for tenant `t`, queueing fairly for at most `wait`.
    pub async fn acquire(
        self: &Arc<Self>,
        t: &TenantRt,
        adm: &Admission,
        wait: Duration,
    ) -> Result<Permit, Overloaded> {
        let permit = || {
            t.in_flight.inc();
            Permit {
                queue: self.clone(),
                key: t.key,
                gauge: t.in_flight.clone(),
            }
        };
        let mut waiting = {
            let mut g = self.lock();
            let id = g.next;
            g.next += 1;
            match g.q.try_acquire(t.key, adm.max_in_flight, adm.queue, id) {
                Admit::Now => return Ok(permit()),
                Admit::Rejected => return Err(Overloaded::QueueFull),
                Admit::Queued => {
                    let (tx, rx) = oneshot::channel();
                    g.waiters.insert(id, tx);
                    Waiting {
                        queue: self.clone(),
                        key: t.key,
                        id,
                        rx,
                        done: false,
                    }
                }
            }
        };
        let granted = tokio::time::timeout(wait, &mut waiting.rx).await.is_ok() || waiting.settle();
        waiting.done = true;
        if granted {
            Ok(permit())
        } else {
            Err(Overloaded::Timeout)
        }
    }
}

/// A queued request; if it is dropped before it settled (the client went away), its place
/// in the queue, or a slot already handed to it, is given back.
struct Waiting {
    queue: Arc<PoolQueue>,
    key: usize,
    id: u64,
    rx: oneshot::Receiver<()>,
    done: bool,
}

impl Waiting {
    /// After the wait ran out: withdraw, unless a slot was handed over meanwhile (then keep it).
    fn settle(&mut self) -> bool {
        let mut g = self.queue.lock();
        if g.q.cancel(self.key, &self.id) {
            g.waiters.remove(&self.id);
            return false;
        }
        // Dequeued by a release: either `hand` has not reached our entry yet (we take the
        // slot; it will find the entry gone) or it already sent.
        g.waiters.remove(&self.id).is_some() || self.rx.try_recv().is_ok()
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.done && self.settle() {
            let handed = self.queue.lock().q.release(self.key);
            self.queue.hand(handed);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gauge.dec();
        let handed = self.queue.lock().q.release(self.key);
        self.queue.hand(handed);
    }
}

/// One rate decision: on the shared redis bucket when the backend is redis, else on `local`.
/// `Err` when redis did not answer in time — the caller applies its fail mode (usually
/// [`RateBucket::check`] on the local bucket).
pub async fn shared_decision(
    store: &switchyard_state::Store,
    key: impl FnOnce() -> String,
    local: &RateBucket,
    limit: &Limit,
    now_ns: u64,
) -> Result<Decision, switchyard_state::StateError> {
    if store.backend_name() != "redis" {
        return Ok(local.check(limit, now_ns));
    }
    let interval =
        Duration::from_nanos(u64::try_from(limit.emission_interval_ns()).unwrap_or(u64::MAX));
    let r = store.rate_limit(&key(), interval, limit.burst, 1).await?;
    let Some(r) = r else {
        return Ok(local.check(limit, now_ns));
    };
    local.count(r.allowed);
    Ok(Decision {
        allowed: r.allowed,
        new_tat: 0,
        remaining: u32::try_from(r.remaining).unwrap_or(u32::MAX),
        reset_after: r.reset_after,
        retry_after: r.retry_after,
    })
}

/// Admission state by name, handed to each snapshot.
#[derive(Default)]
pub struct Registry {
    tenants: Mutex<HashMap<String, Arc<TenantRt>>>,
    pools: Mutex<HashMap<String, Arc<PoolQueue>>>,
    partners: Mutex<HashMap<String, Arc<RateBucket>>>,
}

impl Registry {
    /// Per partner (indexed like `partners`): its local rate bucket.
    pub fn partners(&self, cfg: &Config, m: &crate::metrics::Metrics) -> Vec<Arc<RateBucket>> {
        let mut map = self.partners.lock().unwrap_or_else(|e| e.into_inner());
        cfg.partners
            .iter()
            .map(|p| {
                map.entry(p.name.clone())
                    .or_insert_with(|| Arc::new(RateBucket::new(m, "partner", &p.name)))
                    .clone()
            })
            .collect()
    }

    /// Per tenant (indexed like `tenants.names`, then one for requests without a tenant).
    pub fn tenants(&self, cfg: &Config, m: &crate::metrics::Metrics) -> Vec<Arc<TenantRt>> {
        let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let names = cfg
            .tenants
            .names
            .iter()
            .map(String::as_str)
            .chain([NO_TENANT]);
        names
            .map(|name| {
                let next = map.len();
                map.entry(name.to_owned())
                    .or_insert_with(|| {
                        let label = if name.is_empty() { "-" } else { name };
                        Arc::new(TenantRt {
                            key: next,
                            bucket: RateBucket::new(m, "tenant", label),
                            in_flight: m.tenant_in_flight.with_label_values(&[label]),
                        })
                    })
                    .clone()
            })
            .collect()
    }

    /// Per pool (indexed like `pools`); a changed `max_in_flight` applies at once.
    pub fn pools(&self, cfg: &Config) -> Vec<Arc<PoolQueue>> {
        let mut map = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        cfg.pools
            .iter()
            .map(|p| {
                let limit = p.max_in_flight.unwrap_or(usize::MAX);
                let q = map
                    .entry(p.name.clone())
                    .or_insert_with(|| {
                        Arc::new(PoolQueue(Mutex::new(Inner {
                            q: FairQueue::new(limit),
                            waiters: HashMap::new(),
                            next: 0,
                            limit,
                        })))
                    })
                    .clone();
                let handed = {
                    let mut g = q.lock();
                    if g.limit == limit {
                        Vec::new()
                    } else {
                        g.limit = limit;
                        g.q.set_global_limit(limit)
                    }
                };
                q.hand(handed);
                q
            })
            .collect()
    }
}
