//! Stage 7 (tenant admission): the tenant's rate limit (GCRA; 429 `quota-exceeded` with
//! `RateLimit-Policy`, `RateLimit` and an honest `Retry-After`), and — once the pool is known —
//! its slot in the pool's fair queue (503 + `Retry-After` when its queue is full or the wait
//! runs out). Requests that name no tenant share one admission slot with the defaults. With
//! the redis backend the rate is one bucket for every replica (GCRA on redis' clock); when
//! redis does not answer within `state.redis.timeout` the replica falls back to its own
//! bucket (fail open: the tenant is never refused because redis is down).

use crate::admission::{Overloaded, Permit};
use crate::live::{Shared, Snapshot};
use crate::rescue::Reject;
use std::time::Duration;
use switchyard_core::gcra;

fn tenant_name(snap: &Snapshot, tenant: Option<usize>) -> &str {
    tenant.map_or("", |t| snap.config.tenants.names[t].as_str())
}

/// The tenant's rate limit.
pub async fn rate(snap: &Snapshot, shared: &Shared, tenant: Option<usize>) -> Result<(), Reject> {
    let Some(t) = tenant else { return Ok(()) };
    let Some(limit) = snap.config.tenants.list[t].admission.rate else {
        return Ok(());
    };
    let rt = &snap.tenant_rt[t];
    let now_ns = u64::try_from(shared.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let key = || format!("tenant:{}", snap.config.tenants.names[t]);
    // Fail open: redis not answering in time never refuses a tenant.
    let d = crate::admission::shared_decision(shared.store(), key, &rt.bucket, &limit, now_ns)
        .await
        .unwrap_or_else(|_| rt.bucket.check(&limit, now_ns));
    if d.allowed {
        return Ok(());
    }
    let name = tenant_name(snap, tenant);
    let (policy, state) = gcra::headers(name, &limit, &d);
    Err(Reject::RateLimited {
        scope: "tenant",
        tenant: name.to_owned(),
        policy,
        state,
        retry_after: gcra::retry_after_secs(&d).min(86_400),
    })
}

/// The tenant's slot in the pool's fair queue (held until the permit drops).
pub async fn slot(
    snap: &Snapshot,
    shared: &Shared,
    pool: usize,
    tenant: Option<usize>,
) -> Result<Permit, Reject> {
    let t = &snap.tenant_rt[tenant.unwrap_or(snap.config.tenants.names.len())];
    let adm = tenant.map_or(snap.config.tenants.defaults, |i| {
        snap.config.tenants.list[i].admission
    });
    let wait = snap.config.pools[pool]
        .request_timeout
        .min(Duration::from_secs(30));
    snap.queues[pool]
        .acquire(t, &adm, wait)
        .await
        .map_err(|why| {
            let (label, reason) = match why {
                Overloaded::QueueFull => ("queue_full", "its queue is full"),
                Overloaded::Timeout => ("timeout", "no slot freed in time"),
            };
            let name = tenant_name(snap, tenant);
            shared
                .metrics
                .admission_rejections
                .with_label_values(&[if name.is_empty() { "-" } else { name }, label])
                .inc();
            Reject::Overloaded {
                tenant: name.to_owned(),
                reason,
            }
        })
}
