//! Hostile guests against the sandbox: one module whose misbehaviour is picked by the first
//! letter of the method (Loop, Bomb, Recurse, Trap, Set-then-trap), run on one policy so each
//! failure is followed by a normal call that must work on a fresh instance.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use switchyard_wasm::{CallError, Decision, Host, HostOptions, Limits, LoadError, Policy, Request};

use crate::common::{host, policy_with, request, wasm};

const HOSTILE: &str = r#"
  (data (i32.const 0) "x-touched") (data (i32.const 16) "yes")
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "handle_request") (result i64)
    (local $m i32)
    (drop (call $get_method (i32.const 1024) (i32.const 16)))
    (local.set $m (i32.load8_u (i32.const 1024)))
    (if (i32.eq (local.get $m) (i32.const 76)) (then (loop $spin (br $spin))))
    (if (i32.eq (local.get $m) (i32.const 66))
      (then (loop $grow (drop (memory.grow (i32.const 16))) (br $grow))))
    (if (i32.eq (local.get $m) (i32.const 82)) (then (drop (call $recurse (i32.const 0)))))
    (if (i32.eq (local.get $m) (i32.const 84)) (then unreachable))
    (if (i32.eq (local.get $m) (i32.const 83))
      (then
        (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 16) (i32.const 3))
        (i32.store (i32.const 70000) (i32.const 1))))
    (i64.const 1))
"#;

fn limits(time_ms: u64) -> Limits {
    Limits {
        time: Duration::from_millis(time_ms),
        memory: 4 * 1024 * 1024,
        fuel: None,
    }
}

fn call(p: &Policy, method: &str) -> (Result<Decision, CallError>, Duration) {
    let mut req = Request::new(method, "/");
    let start = Instant::now();
    let r = p.handle(&mut req);
    (r, start.elapsed())
}

#[test]
fn every_failure_is_contained_and_the_next_call_works_on_a_fresh_instance() {
    let p = policy_with(&host(), HOSTILE, b"{}", limits(2));
    let cases: [(&str, &str); 5] = [
        ("LOOP", "timeout"),
        ("BOMB", "memory"),
        ("RECURSE", "stack"),
        ("TRAP", "trap"),
        ("SET", "trap"),
    ];
    for (i, (method, kind)) in cases.into_iter().enumerate() {
        let (r, elapsed) = call(&p, method);
        let err = r.expect_err(method);
        assert_eq!(err.kind(), kind, "{method}: {err}");
        assert!(
            elapsed < Duration::from_millis(100),
            "{method} took {elapsed:?}"
        );
        assert_eq!(p.stats().idle, 0, "{method}: failed instance discarded");
        assert_eq!(call(&p, "GET").0, Ok(Decision::Continue), "after {method}");
        assert_eq!(p.stats().instances_created, i as u64 + 2);
    }
}

#[test]
fn an_infinite_loop_times_out_within_the_limit() {
    let p = policy_with(&host(), HOSTILE, b"{}", limits(2));
    for _ in 0..3 {
        let (r, elapsed) = call(&p, "LOOP");
        assert_eq!(r, Err(CallError::Timeout));
        assert!(
            elapsed >= Duration::from_millis(1),
            "stopped early: {elapsed:?}"
        );
        assert!(elapsed < Duration::from_millis(100), "took {elapsed:?}");
    }
}

#[test]
fn a_failed_call_leaves_the_request_as_it_was() {
    let p = policy_with(&host(), HOSTILE, b"{}", limits(2));
    let before = request("/x", &[("x-touched", "no"), ("a", "b")]);
    let mut req = before.clone();
    req.method = "SET".into();
    let err = p.handle(&mut req).expect_err("out-of-bounds store traps");
    assert!(err.to_string().contains("out of bounds"), "{err}");
    req.method = "GET".into();
    assert_eq!(req, before);
}

#[test]
fn a_stuck_guest_does_not_stall_calls_on_other_threads() {
    let p = Arc::new(policy_with(&host(), HOSTILE, b"{}", limits(50)));
    let stuck = {
        let p = p.clone();
        thread::spawn(move || call(&p, "LOOP").0)
    };
    let start = Instant::now();
    for _ in 0..200 {
        assert_eq!(call(&p, "GET").0, Ok(Decision::Continue));
    }
    let normal = start.elapsed();
    assert_eq!(stuck.join().unwrap(), Err(CallError::Timeout));
    assert!(
        normal < Duration::from_millis(1000),
        "200 calls took {normal:?}"
    );
}

#[test]
fn fuel_limits_work_only_on_a_metering_host() {
    let fuel = Limits {
        time: Duration::from_secs(5),
        memory: 1 << 20,
        fuel: Some(10_000),
    };
    let metering = Host::with_options(HostOptions {
        fuel: true,
        ..HostOptions::default()
    })
    .unwrap();
    let p = policy_with(&metering, HOSTILE, b"{}", fuel);
    let (r, elapsed) = call(&p, "LOOP");
    assert_eq!(r, Err(CallError::Fuel));
    assert!(elapsed < Duration::from_secs(1));
    assert_eq!(call(&p, "GET").0, Ok(Decision::Continue));
    let unmetered = Policy::load(&host(), "f", &wasm(HOSTILE), b"", fuel, None);
    assert!(matches!(unmetered, Err(LoadError::Invalid(_))));
    let no_limit = policy_with(&metering, HOSTILE, b"{}", Limits::default());
    assert_eq!(
        call(&no_limit, "GET").0,
        Ok(Decision::Continue),
        "metering host, no fuel limit"
    );
}
