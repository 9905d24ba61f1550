//! Against a real redis-server on a free loopback port: the launcher works, and switchyard
//! replicas sharing one redis converge on canary overrides.

use switchyard_test_support::redis::Redis;

#[test]
fn a_real_redis_server_starts_and_answers() {
    let r = Redis::start();
    assert_eq!(r.command("SET switchyard:test 1").as_deref(), Some("+OK"));
    assert_eq!(r.command("INCR switchyard:test").as_deref(), Some(":2"));
    assert!(r.url().starts_with("redis://127.0.0.1:"));
}

/// Three switchyard replicas share one redis: a weight set on one is applied by all within
/// 1 s, a rollback too, and a replica started later picks the override up at start.
#[test]
fn three_replicas_converge_within_a_second() {
    use crate::canary::{config_state, set_weight};
    use std::time::{Duration, Instant};
    use switchyard_test_support::proxy::TestProxy;
    use switchyard_test_support::upstream::RecordingUpstream;

    crate::common::env();
    let r = Redis::start();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let state = format!(
        r#"{{ backend: redis, data_dir: "${{DATA_DIR}}", redis: {{ url: "{}", prefix: "sy-test:" }} }}"#,
        r.url()
    );
    let yaml = config_state(&s, &c, "{ weight: 5 }", &state);
    let replicas: Vec<TestProxy> = (0..3).map(|_| TestProxy::start(&yaml)).collect();
    let weight = |p: &TestProxy| p.shared().live.load().canary[1].weight.basis_points();
    for (target, body) in [
        (2500, r#"{"weight": 25, "reason": "wider"}"#),
        (0, r#"{"weight": 0, "reason": "pull it"}"#),
    ] {
        let t0 = Instant::now();
        assert_eq!(set_weight(&replicas[0], "odoo", body).status, 200);
        for p in &replicas {
            while weight(p) != target {
                assert!(
                    t0.elapsed() < Duration::from_secs(1),
                    "a replica missed {body} for over 1 s"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let late = TestProxy::start(&yaml);
    assert_eq!(
        weight(&late),
        0,
        "a new replica starts with the shared override"
    );
    assert!(r
        .command("HGETALL sy-test:canary")
        .is_some_and(|l| l.starts_with('*')));
}

/// Two replicas on one redis share a tenant's rate limit; with redis gone they fall back to
/// their own buckets within `state.redis.timeout` instead of refusing or hanging.
#[test]
fn replicas_share_a_tenant_rate_limit_and_fail_open() {
    use crate::canary::config_state;
    use std::time::{Duration, Instant};
    use switchyard_test_support::client;
    use switchyard_test_support::proxy::TestProxy;
    use switchyard_test_support::upstream::RecordingUpstream;

    crate::common::env();
    let mut r = Redis::start();
    let (s, c) = (RecordingUpstream::start(), RecordingUpstream::start());
    let state = format!(
        r#"{{ backend: redis, data_dir: "${{DATA_DIR}}", redis: {{ url: "{}", prefix: "sy-rl:", timeout: 50ms }} }}"#,
        r.url()
    );
    let yaml = config_state(&s, &c, "{ weight: 0 }", &state).replace(
        "umbrella: {}",
        "umbrella: { rate: { limit: 1/min, burst: 3 } }",
    );
    let (a, b) = (TestProxy::start(&yaml), TestProxy::start(&yaml));
    let mut statuses = Vec::new();
    for p in [&a, &b, &a, &b, &a, &b] {
        statuses.push(client::get(p.addr, "umbrella.erp.test", "/web", &[]).status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        3,
        "one burst across replicas: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);
    r.stop();
    let t0 = Instant::now();
    let during = client::get(a.addr, "umbrella.erp.test", "/web", &[]);
    assert_eq!(during.status, 200, "fail open to the replica's own bucket");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}
