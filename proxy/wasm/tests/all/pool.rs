//! Instance reuse: no instantiation on the hot path, `_start` once per instance, concurrent
//! callers each get their own instance.

use std::sync::Arc;
use std::thread;

use switchyard_wasm::{Decision, Request};

use crate::common::{policy, request};

const HEADER: &str = r#"(data (i32.const 0) "x-policy") (data (i32.const 16) "ok")
  (func (export "handle_request") (result i64)
    (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 2))
    (i64.const 1))"#;

#[test]
fn a_thousand_calls_reuse_one_instance() {
    let p = policy(HEADER);
    assert_eq!(p.stats().instances_created, 1, "created at load");
    for _ in 0..1000 {
        let mut req = request("/", &[]);
        assert_eq!(p.handle(&mut req), Ok(Decision::Continue));
        assert_eq!(req.header("x-policy"), Some(&b"ok"[..]));
    }
    assert_eq!(p.stats().instances_created, 1);
    assert_eq!(p.stats().idle, 1);
}

#[test]
fn two_threads_at_once() {
    let p = Arc::new(policy(HEADER));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let p = p.clone();
            thread::spawn(move || {
                for i in 0..500 {
                    let mut req = request(&format!("/{i}"), &[("x-policy", "spoofed")]);
                    assert_eq!(p.handle(&mut req), Ok(Decision::Continue));
                    assert_eq!(req.headers, vec![("x-policy".to_string(), b"ok".to_vec())]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let created = p.stats().instances_created;
    assert!(
        (1..=2).contains(&created),
        "{created} instances for 2 threads"
    );
}

#[test]
fn start_runs_once_per_instance() {
    let p = policy(
        r#"(global $starts (mut i32) (i32.const 0))
        (func (export "_start") (global.set $starts (i32.add (global.get $starts) (i32.const 1))))
        (func (export "handle_request") (result i64)
          (drop (call $get_method (i32.const 1024) (i32.const 8)))
          (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 84)) (then unreachable))
          (call $set_status_code (i32.add (i32.const 200) (global.get $starts)))
          (i64.const 0))"#,
    );
    let status = |m: &str| match p.handle(&mut Request::new(m, "/")) {
        Ok(Decision::Respond { status, .. }) => Some(status),
        _ => None,
    };
    for _ in 0..10 {
        assert_eq!(status("GET"), Some(201));
    }
    assert_eq!(status("TRAP"), None);
    assert_eq!(
        status("GET"),
        Some(201),
        "the replacement ran its own _start once"
    );
    assert_eq!(p.stats().instances_created, 2);
}

#[test]
fn initialize_runs_before_start() {
    let p = policy(
        r#"(global $g (mut i32) (i32.const 0))
        (func (export "_start") (global.set $g (i32.add (i32.mul (global.get $g) (i32.const 10)) (i32.const 2))))
        (func (export "_initialize") (global.set $g (i32.add (i32.mul (global.get $g) (i32.const 10)) (i32.const 1))))
        (func (export "handle_request") (result i64)
          (call $set_status_code (i32.add (i32.const 200) (global.get $g)))
          (i64.const 0))"#,
    );
    match p.handle(&mut request("/", &[])) {
        Ok(Decision::Respond { status, .. }) => assert_eq!(status, 212),
        other => panic!("{other:?}"),
    }
}
