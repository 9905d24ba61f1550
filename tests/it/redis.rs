//! The redis-server launcher of the test harness works (the state backends of later issues
//! test against it): a real server on a free loopback port, answering commands.

use switchyard_test_support::redis::Redis;

#[test]
fn a_real_redis_server_starts_and_answers() {
    let r = Redis::start();
    assert_eq!(r.command("SET switchyard:test 1").as_deref(), Some("+OK"));
    assert_eq!(r.command("INCR switchyard:test").as_deref(), Some(":2"));
    assert!(r.url().starts_with("redis://127.0.0.1:"));
}
