//! Delivery of spooled webhooks, on the control thread: per partner, the oldest due record
//! (strictly in order) is POSTed to the pool of the route it arrived on, no faster than the
//! partner's rate. 2xx → acknowledged; 408, 429, 5xx or no answer → retried with exponential
//! backoff and jitter (`spool.retry`), dead-lettered once older than `max_age`; any other 4xx
//! → dead-lettered at once (Odoo refused it; retrying cannot help). Spool gauges are published
//! on every pass.

use crate::live::Shared;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use switchyard_spool::{Record, RetryOutcome, RetryPolicy};
use tokio::sync::watch;

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// How often the queues are looked at when nothing is due.
const IDLE: Duration = Duration::from_millis(50);

/// Runs until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    // Head and body go out as separate writes: without NODELAY each delivery waits on a
    // delayed ACK (~40 ms).
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(2)));
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    // Pacing: no partner is sent to faster than its rate (ms of the next allowed send).
    let mut next_send: HashMap<String, u64> = HashMap::new();
    loop {
        let busy = pass(&shared, &client, &mut next_send).await;
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(IDLE) => {}
                changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
            }
        } else if *stop.borrow() {
            return;
        }
    }
}

/// One pass over the partners; true when something was attempted.
async fn pass(shared: &Shared, client: &HttpClient, next_send: &mut HashMap<String, u64>) -> bool {
    let snap = shared.live.load_full();
    let now = crate::live::unix_ms();
    let mut busy = false;
    for partner in shared.spool.partners() {
        publish(shared, &partner, now);
        if next_send.get(&partner).is_some_and(|t| *t > now) {
            continue;
        }
        let Some(rec) = shared.spool.next_due(&partner, now) else {
            continue;
        };
        busy = true;
        let interval = snap
            .config
            .partners
            .iter()
            .find(|p| p.name == partner)
            .and_then(|p| p.rate)
            .map_or(0, |l| {
                u64::try_from(l.emission_interval_ns() / 1_000_000).unwrap_or(u64::MAX)
            });
        next_send.insert(partner.clone(), now.saturating_add(interval));
        deliver(shared, client, rec).await;
    }
    busy
}

fn publish(shared: &Shared, partner: &str, now: u64) {
    let st = shared.spool.stats(partner, now);
    let m = &shared.metrics;
    m.spool_depth
        .with_label_values(&[partner])
        .set(i64::try_from(st.depth).unwrap_or(i64::MAX));
    m.spool_oldest_age
        .with_label_values(&[partner])
        .set(st.oldest_age_ms as f64 / 1000.0);
}

/// The endpoint a record goes to: the route it arrived on, its pool's next healthy endpoint.
fn target(shared: &Shared, rec: &Record) -> Option<String> {
    let snap = shared.live.load();
    let host = rec
        .headers
        .iter()
        .find(|(n, _)| n == "host")
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
        .unwrap_or("");
    let path = rec.path_and_query.split('?').next().unwrap_or("/");
    let route = switchyard_core::routing::select(&snap.config.routes, host, path, &rec.method)?;
    let pool = &snap.pools[snap.config.routes[route].stable.0];
    let ep = pool
        .endpoints
        .iter()
        .find(|e| e.is_healthy())
        .or(pool.endpoints.first())?;
    Some(format!("http://{}{}", ep.authority, rec.path_and_query))
}

async fn attempt(client: &HttpClient, uri: &str, rec: &Record) -> Option<u16> {
    let mut b = http::Request::builder()
        .method(rec.method.as_str())
        .uri(uri);
    for (n, v) in &rec.headers {
        if n != "content-length" && n != "transfer-encoding" && n != "connection" {
            b = b.header(n.as_str(), v.as_slice());
        }
    }
    b = b.header(
        "x-switchyard-delivery",
        rec.attempts.saturating_add(1).to_string(),
    );
    let req = b.body(Full::new(rec.body.clone())).ok()?;
    let resp = tokio::time::timeout(Duration::from_secs(30), client.request(req))
        .await
        .ok()?
        .ok()?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Some(status)
}

async fn deliver(shared: &Shared, client: &HttpClient, rec: Record) {
    let snap = shared.live.load();
    let status = match target(shared, &rec) {
        Some(uri) => attempt(client, &uri, &rec).await,
        None => None,
    };
    let count = |result: &str| {
        shared
            .metrics
            .spool_deliveries
            .with_label_values(&[rec.partner.as_str(), result])
            .inc();
    };
    match status {
        Some(200..=299) => {
            let _ = shared.spool.ack(rec.seq);
            count("delivered");
        }
        Some(s) if (400..500).contains(&s) && s != 408 && s != 429 => {
            let _ = shared
                .spool
                .dead_letter(rec.seq, &format!("upstream answered {s}"));
            count("dead");
        }
        _ => {
            let c = &snap.config.spool;
            let policy = RetryPolicy {
                initial: c.initial,
                max: c.max,
                max_age: c.max_age,
            };
            match shared
                .spool
                .retry_later(rec.seq, crate::live::unix_ms(), &policy, &mut || {
                    fastrand::f64()
                }) {
                RetryOutcome::Scheduled(_) => count("retry"),
                RetryOutcome::Dead => count("dead"),
            }
        }
    }
}
