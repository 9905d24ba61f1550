//! Tests of the redis backend against a real `redis-server` per test (see `test_server`).
//! Every wait is bounded by a deadline. Receivers from `changes()` are taken right after
//! `open`, before the test first awaits, so the subscriber's first "*" cannot be missed on the
//! single-threaded test runtime.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use super::test_server::RedisServer;
use crate::{BackendConfig, RedisSettings, StateError, Store, RESYNC_ALL};

const PREFIX: &str = "sy-test:";
/// "Unavailable within ~2.5 s": the 2 s control-plane timeout plus scheduling slack.
const FAIL_WITHIN: Duration = Duration::from_millis(2500);
/// Reconnects back off up to 2 s, so a recovery is given a few rounds.
const RECOVER_WITHIN: Duration = Duration::from_secs(10);

fn config(url: &str) -> BackendConfig {
    BackendConfig::Redis {
        settings: RedisSettings {
            url: url.to_owned(),
            prefix: PREFIX.to_owned(),
            timeout: Duration::from_millis(20),
        },
    }
}

async fn open(url: &str) -> Store {
    Store::open(&config(url)).await.unwrap()
}

/// Receives until `want` arrives; false if the deadline passes first.
async fn wait_for(rx: &mut broadcast::Receiver<String>, want: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(got)) if got == want => return true,
            Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Err(RecvError::Closed)) | Err(_) => return false,
        }
    }
}

/// Retries `get` until redis answers again; false if the deadline passes first.
async fn until_available(store: &Store, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if store.get("overrides", "probe").await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn assert_unavailable_fast<T: std::fmt::Debug>(
    what: &str,
    started: Instant,
    r: Result<T, StateError>,
) {
    let elapsed = started.elapsed();
    assert!(
        matches!(r, Err(StateError::Unavailable(_))),
        "{what}: want Unavailable, got {r:?}"
    );
    assert!(elapsed < FAIL_WITHIN, "{what} took {elapsed:?}");
}

#[tokio::test]
async fn two_stores_see_each_others_writes_and_changes() {
    let server = RedisServer::start().await;
    let a = open(&server.url()).await;
    let b = open(&server.url()).await;
    let mut b_changes = b.changes();
    assert_eq!(b.backend_name(), "redis");
    assert!(wait_for(&mut b_changes, RESYNC_ALL, RECOVER_WITHIN).await);

    a.set("overrides", "odoo", Some(r#"{"weight":10}"#))
        .await
        .unwrap();
    a.set("overrides", "hooks", Some("{}")).await.unwrap();
    let mut want = BTreeMap::new();
    want.insert("hooks".to_owned(), "{}".to_owned());
    want.insert("odoo".to_owned(), r#"{"weight":10}"#.to_owned());
    assert_eq!(b.get_all("overrides").await.unwrap(), want);
    assert!(wait_for(&mut b_changes, "overrides", Duration::from_secs(1)).await);

    b.set("overrides", "odoo", None).await.unwrap();
    assert_eq!(a.get("overrides", "odoo").await.unwrap(), None);
    assert_eq!(a.get("ramp", "odoo").await.unwrap(), None);
    assert!(a.get_all("ramp").await.unwrap().is_empty());
}

#[tokio::test]
async fn compare_and_set_conflicts_between_stores() {
    let server = RedisServer::start().await;
    let a = open(&server.url()).await;
    let b = open(&server.url()).await;

    let (won_a, won_b) = tokio::join!(
        a.compare_and_set("ramp", "odoo", None, Some("a")),
        b.compare_and_set("ramp", "odoo", None, Some("b")),
    );
    let (won_a, won_b) = (won_a.unwrap(), won_b.unwrap());
    assert!(won_a ^ won_b, "exactly one creator wins: {won_a} {won_b}");
    let current = if won_a { "a" } else { "b" };
    assert_eq!(
        b.get("ramp", "odoo").await.unwrap().as_deref(),
        Some(current)
    );

    // A stale expectation loses; the current one wins; conditional delete likewise.
    assert!(!a
        .compare_and_set("ramp", "odoo", Some("stale"), Some("x"))
        .await
        .unwrap());
    assert!(b
        .compare_and_set("ramp", "odoo", Some(current), Some("x"))
        .await
        .unwrap());
    assert!(!a
        .compare_and_set("ramp", "odoo", Some(current), None)
        .await
        .unwrap());
    assert!(a
        .compare_and_set("ramp", "odoo", Some("x"), None)
        .await
        .unwrap());
    assert_eq!(b.get("ramp", "odoo").await.unwrap(), None);
}

#[tokio::test]
async fn outage_fails_fast_then_resubscribes_and_recovers() {
    let mut server = RedisServer::start().await;
    let a = open(&server.url()).await;
    let b = open(&server.url()).await;
    let mut b_changes = b.changes();
    assert!(wait_for(&mut b_changes, RESYNC_ALL, RECOVER_WITHIN).await);
    a.set("overrides", "k", Some("before")).await.unwrap();

    server.kill();
    let t = Instant::now();
    assert_unavailable_fast("get", t, a.get("overrides", "k").await);
    let t = Instant::now();
    assert_unavailable_fast("get_all", t, a.get_all("overrides").await);
    let t = Instant::now();
    assert_unavailable_fast("set", t, a.set("overrides", "k", Some("x")).await);
    let t = Instant::now();
    let cas = a.compare_and_set("overrides", "k", None, Some("x")).await;
    assert_unavailable_fast("compare_and_set", t, cas);

    server.restart().await;
    assert!(wait_for(&mut b_changes, RESYNC_ALL, RECOVER_WITHIN).await);
    assert!(until_available(&a, RECOVER_WITHIN).await);
    a.set("overrides", "k", Some("after")).await.unwrap();
    assert!(wait_for(&mut b_changes, "overrides", Duration::from_secs(1)).await);
    assert_eq!(
        b.get("overrides", "k").await.unwrap().as_deref(),
        Some("after")
    );
}

#[tokio::test]
async fn a_frozen_redis_times_out_instead_of_hanging() {
    let server = RedisServer::start().await;
    let store = open(&server.url()).await;
    store.set("overrides", "k", Some("v")).await.unwrap();

    server.signal("-STOP");
    let t = Instant::now();
    let r = store.get("overrides", "k").await;
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert_unavailable_fast("get", t, r);

    server.signal("-CONT");
    assert!(until_available(&store, RECOVER_WITHIN).await);
    assert_eq!(
        store.get("overrides", "k").await.unwrap().as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn opens_while_redis_is_down_and_connects_later() {
    let port = RedisServer::unused_port();
    let store = open(&format!("redis://127.0.0.1:{port}/0")).await;
    let mut changes = store.changes();
    let t = Instant::now();
    assert_unavailable_fast("get", t, store.get("overrides", "k").await);

    let _server = RedisServer::start_on(port).await;
    assert!(wait_for(&mut changes, RESYNC_ALL, RECOVER_WITHIN).await);
    assert!(until_available(&store, RECOVER_WITHIN).await);
    store.set("overrides", "k", Some("v")).await.unwrap();
    assert_eq!(
        store.get("overrides", "k").await.unwrap().as_deref(),
        Some("v")
    );
}

#[tokio::test]
async fn malformed_url_is_a_config_error() {
    for url in [
        "",
        "not a url",
        "redis://127.0.0.1:notaport/0",
        "http://127.0.0.1:6379",
    ] {
        match Store::open(&config(url)).await {
            Err(StateError::Config(_)) => {}
            Err(other) => panic!("{url:?}: want Config, got {other:?}"),
            Ok(_) => panic!("{url:?}: opened"),
        }
    }
}

#[tokio::test]
async fn dropping_the_store_ends_the_subscriber() {
    let server = RedisServer::start().await;
    let store = open(&server.url()).await;
    let mut changes = store.changes();
    assert!(wait_for(&mut changes, RESYNC_ALL, RECOVER_WITHIN).await);
    drop(store);
    // The task holds the last sender: the channel closes only once the task has ended.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match tokio::time::timeout_at(deadline, changes.recv()).await {
            Ok(Err(RecvError::Closed)) => break,
            Ok(_) => continue,
            Err(_) => panic!("subscriber task still running after the store was dropped"),
        }
    }
}

#[tokio::test]
async fn a_key_of_the_wrong_type_is_corrupt() {
    let server = RedisServer::start().await;
    let client = ::redis::Client::open(server.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{PREFIX}overrides");
    let () = ::redis::cmd("SET")
        .arg(&key)
        .arg("not a hash")
        .query_async(&mut raw)
        .await
        .unwrap();

    let store = open(&server.url()).await;
    let get_all = store.get_all("overrides").await;
    let get = store.get("overrides", "k").await.map(|_| ());
    let cas = store
        .compare_and_set("overrides", "k", None, Some("v"))
        .await;
    for (what, r) in [
        ("get_all", get_all.map(|_| ())),
        ("get", get),
        ("cas", cas.map(|_| ())),
    ] {
        match r {
            Err(StateError::Corrupt { what: w, .. }) => assert!(w.contains(&key), "{what}: {w}"),
            other => panic!("{what}: want Corrupt, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn records_are_mirrored_to_a_trimmed_stream() {
    let server = RedisServer::start().await;
    let a = open(&server.url()).await;
    assert!(until_available(&a, RECOVER_WITHIN).await);
    for i in 0..5 {
        a.append_stream("audit", &format!(r#"{{"seq":{i}}}"#), 1000)
            .await
            .unwrap();
    }
    let mut conn = ::redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let len: usize = ::redis::cmd("XLEN")
        .arg(format!("{PREFIX}audit"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 5);
    assert!(a.append_stream("Bad Name", "{}", 10).await.is_err());
}

#[tokio::test]
async fn gcra_on_redis_time_is_shared_and_honest() {
    let mut server = RedisServer::start().await;
    let (a, b) = (open(&server.url()).await, open(&server.url()).await);
    assert!(until_available(&a, RECOVER_WITHIN).await);
    let interval = Duration::from_secs(1); // 1/s, burst 3
    let mut allowed = 0;
    for store in [&a, &b, &a, &b, &a] {
        let r = store
            .rate_limit("tenant:acme", interval, 3, 1)
            .await
            .unwrap()
            .unwrap();
        if r.allowed {
            allowed += 1;
            assert_eq!(r.retry_after, Duration::ZERO);
        } else {
            assert!(
                r.retry_after > Duration::from_millis(900) && r.retry_after <= interval,
                "{r:?}"
            );
            assert_eq!(r.remaining, 0);
        }
    }
    assert_eq!(allowed, 3, "two replicas share one burst");
    let other = a
        .rate_limit("tenant:globex", interval, 3, 1)
        .await
        .unwrap()
        .unwrap();
    assert!(other.allowed && other.remaining == 2, "{other:?}");
    server.kill();
    let t0 = Instant::now();
    assert!(matches!(
        a.rate_limit("tenant:acme", interval, 3, 1).await,
        Err(StateError::Unavailable(_))
    ));
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "the data-plane timeout bounds the wait"
    );
}

#[tokio::test]
async fn dedupe_claims_are_shared_by_replicas() {
    let server = RedisServer::start().await;
    let (a, b) = (open(&server.url()).await, open(&server.url()).await);
    assert!(until_available(&a, RECOVER_WITHIN).await);
    let ttl = Duration::from_secs(60);
    assert_eq!(
        a.dedupe_claim("dhl:msg-1", ttl).await.unwrap(),
        crate::Claim::New
    );
    assert_eq!(
        b.dedupe_claim("dhl:msg-1", ttl).await.unwrap(),
        crate::Claim::Seen(None),
        "pending"
    );
    a.dedupe_record("dhl:msg-1", "202", ttl).await.unwrap();
    assert_eq!(
        b.dedupe_claim("dhl:msg-1", ttl).await.unwrap(),
        crate::Claim::Seen(Some("202".into()))
    );
    b.dedupe_release("dhl:msg-1").await.unwrap();
    assert_eq!(
        a.dedupe_claim("dhl:msg-1", ttl).await.unwrap(),
        crate::Claim::New,
        "released"
    );
    let short = Duration::from_millis(50);
    assert_eq!(
        a.dedupe_claim("dhl:msg-2", short).await.unwrap(),
        crate::Claim::New
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(
        b.dedupe_claim("dhl:msg-2", short).await.unwrap(),
        crate::Claim::New,
        "expired"
    );
}
