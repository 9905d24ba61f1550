//! The `http_handler` functions one by one, as a guest sees them: values a getter returns are
//! echoed into the response (lengths into the status code, bytes into the body) so the test
//! can read them back.

use std::net::SocketAddr;

use bytes::Bytes;
use switchyard_wasm::{CallError, Decision, LogLevel, Request};

use crate::common::{policy, policy_with, recording_host, request};

type Fields = Vec<(String, Vec<u8>)>;

fn respond(d: Decision) -> (u16, Fields, Vec<u8>) {
    match d {
        Decision::Respond {
            status,
            headers,
            body,
        } => (status, headers, body),
        Decision::Continue => panic!("expected a response"),
    }
}

#[test]
fn sets_a_header_and_continues() {
    let p = policy(
        r#"(data (i32.const 0) "x-policy") (data (i32.const 16) "ok")
        (func (export "handle_request") (result i64)
          (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 8) (i32.const 16) (i32.const 2))
          (i64.const 1))"#,
    );
    let mut req = request("/", &[("accept", "*/*")]);
    assert_eq!(p.handle(&mut req), Ok(Decision::Continue));
    assert_eq!(req.header("x-policy"), Some(&b"ok"[..]));
    assert_eq!(req.headers.len(), 2);
}

#[test]
fn answers_403_with_a_body() {
    let p = policy(
        r#"(data (i32.const 0) "Content-Type") (data (i32.const 16) "text/plain") (data (i32.const 32) "denied")
        (func (export "handle_request") (result i64)
          (call $set_status_code (i32.const 403))
          (call $set_header_value (i32.const 1) (i32.const 0) (i32.const 12) (i32.const 16) (i32.const 10))
          (call $write_body (i32.const 1) (i32.const 32) (i32.const 3))
          (call $write_body (i32.const 1) (i32.const 35) (i32.const 3))
          (i64.const 0))"#,
    );
    let mut req = request("/", &[]);
    let (status, headers, body) = respond(p.handle(&mut req).unwrap());
    assert_eq!(status, 403);
    assert_eq!(
        headers,
        vec![("content-type".to_string(), b"text/plain".to_vec())]
    );
    assert_eq!(body, b"denied");
}

#[test]
fn next_zero_without_a_status_is_an_empty_200_and_a_written_status_answers_even_with_next_one() {
    let p = policy(r#"(func (export "handle_request") (result i64) (i64.const 0))"#);
    assert_eq!(
        respond(p.handle(&mut request("/", &[])).unwrap()),
        (200, vec![], vec![])
    );
    let p = policy(
        r#"(func (export "handle_request") (result i64) (call $set_status_code (i32.const 401)) (i64.const 1))"#,
    );
    assert_eq!(respond(p.handle(&mut request("/", &[])).unwrap()).0, 401);
    let p = policy(r#"(func (export "handle_request") (result i64) (i64.const 2))"#);
    assert!(matches!(
        p.handle(&mut request("/", &[])),
        Err(CallError::Abi(_))
    ));
    let p = policy(
        r#"(func (export "handle_request") (result i64) (call $set_status_code (i32.const 99)) (i64.const 0))"#,
    );
    assert!(matches!(
        p.handle(&mut request("/", &[])),
        Err(CallError::Abi(_))
    ));
}

#[test]
fn get_config_returns_the_configured_json_and_writes_only_if_it_fits() {
    let body = r#"(func (export "handle_request") (result i64)
          (local $n i32)
          (local.set $n (call $get_config (i32.const 1024) (i32.const 1)))
          (call $write_body (i32.const 1) (i32.const 1024) (i32.const 1))
          (drop (call $get_config (i32.const 1024) (i32.const 4096)))
          (call $write_body (i32.const 1) (i32.const 1024) (local.get $n))
          (call $set_status_code (i32.add (i32.const 200) (local.get $n)))
          (i64.const 0))"#;
    let config = br#"{"allow":["a"]}"#;
    let p = policy_with(&crate::common::host(), body, config, Default::default());
    let (status, _, out) = respond(p.handle(&mut request("/", &[])).unwrap());
    assert_eq!(usize::from(status - 200), config.len());
    assert_eq!(out[0], 0, "nothing written when buf_limit is too small");
    assert_eq!(&out[1..], config);
}

#[test]
fn request_line_getters() {
    let p = policy(
        r#"(data (i32.const 0) "|")
        (func $emit (param $len i32)
          (call $write_body (i32.const 1) (i32.const 1024) (local.get $len))
          (call $write_body (i32.const 1) (i32.const 0) (i32.const 1)))
        (func (export "handle_request") (result i64)
          (call $emit (call $get_method (i32.const 1024) (i32.const 256)))
          (call $emit (call $get_uri (i32.const 1024) (i32.const 256)))
          (call $emit (call $get_protocol_version (i32.const 1024) (i32.const 256)))
          (call $emit (call $get_source_addr (i32.const 1024) (i32.const 256)))
          (i64.const 0))"#,
    );
    let mut req = request("/a/b?c=d", &[]);
    req.source = Some("10.1.2.3:4567".parse::<SocketAddr>().unwrap());
    assert_eq!(
        respond(p.handle(&mut req).unwrap()).2,
        b"GET|/a/b?c=d|HTTP/1.1|10.1.2.3:4567|"
    );
    let mut req = Request::new("DELETE", "");
    req.version = "HTTP/2.0";
    req.source = Some("[::1]:9".parse::<SocketAddr>().unwrap());
    assert_eq!(
        respond(p.handle(&mut req).unwrap()).2,
        b"DELETE|/|HTTP/2.0|[::1]:9|"
    );
}

#[test]
fn set_method_and_uri_change_the_request_and_bad_values_trap_leaving_it_intact() {
    let p = policy(
        r#"(data (i32.const 0) "POST") (data (i32.const 8) "/new?x=1") (data (i32.const 32) "no slash")
        (func (export "handle_request") (result i64)
          (local $n i32)
          (local.set $n (call $get_uri (i32.const 1024) (i32.const 64)))
          (call $set_method (i32.const 0) (i32.const 4))
          (call $set_uri (i32.const 8) (i32.const 8))
          (if (i32.eq (i32.load8_u (i32.const 1025)) (i32.const 98)) (then (call $set_uri (i32.const 32) (i32.const 8))))
          (i64.const 1))"#,
    );
    let mut req = request("/old", &[]);
    assert_eq!(p.handle(&mut req), Ok(Decision::Continue));
    assert_eq!(
        (req.method.as_str(), req.uri.as_str()),
        ("POST", "/new?x=1")
    );
    let mut req = request("/bad", &[]);
    assert!(matches!(p.handle(&mut req), Err(CallError::Abi(_))));
    assert_eq!(req, request("/bad", &[]));
}

#[test]
fn header_names_and_values_read_back() {
    let p = policy(
        r#"(data (i32.const 0) "X-Multi") (data (i32.const 16) "|") (data (i32.const 32) "nope")
        (func (export "handle_request") (result i64)
          (local $cl i64)
          (local.set $cl (call $get_header_names (i32.const 0) (i32.const 1024) (i32.const 1024)))
          (call $write_body (i32.const 1) (i32.const 1024) (i32.wrap_i64 (local.get $cl)))
          (call $write_body (i32.const 1) (i32.const 16) (i32.const 1))
          (drop (call $get_header_values (i32.const 0) (i32.const 0) (i32.const 7) (i32.const 2048) (i32.const 3)))
          (call $write_body (i32.const 1) (i32.const 2048) (i32.const 1))
          (local.set $cl (call $get_header_values (i32.const 0) (i32.const 0) (i32.const 7) (i32.const 2048) (i32.const 64)))
          (call $write_body (i32.const 1) (i32.const 2048) (i32.wrap_i64 (local.get $cl)))
          (call $set_status_code (i32.add (i32.const 200) (i32.wrap_i64 (i64.shr_u (local.get $cl) (i64.const 32)))))
          (if (i64.ne (call $get_header_values (i32.const 0) (i32.const 32) (i32.const 4) (i32.const 2048) (i32.const 64)) (i64.const 0))
            (then unreachable))
          (if (i64.ne (call $get_header_names (i32.const 2) (i32.const 2048) (i32.const 64)) (i64.const 0))
            (then unreachable))
          (i64.const 0))"#,
    );
    let mut req = request(
        "/",
        &[
            ("accept", "a"),
            ("x-multi", "1"),
            ("x-multi", "2"),
            ("date", "d"),
        ],
    );
    let (status, _, body) = respond(p.handle(&mut req).unwrap());
    assert_eq!(status, 202, "two values");
    assert_eq!(body, b"accept\0x-multi\0date\0|\x001\x002\x00");
}

#[test]
fn header_set_add_remove_round_trip() {
    let p = policy(
        r#"(data (i32.const 0) "X-Set") (data (i32.const 8) "new") (data (i32.const 16) "x-add")
        (data (i32.const 24) "X-REMOVE") (data (i32.const 40) "Content-Length") (data (i32.const 56) "999")
        (func (export "handle_request") (result i64)
          (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 5) (i32.const 8) (i32.const 3))
          (call $add_header_value (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 8) (i32.const 1))
          (call $add_header_value (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 9) (i32.const 1))
          (call $remove_header (i32.const 0) (i32.const 24) (i32.const 8))
          (call $set_header_value (i32.const 0) (i32.const 40) (i32.const 14) (i32.const 56) (i32.const 3))
          (call $remove_header (i32.const 0) (i32.const 40) (i32.const 14))
          (i64.const 1))"#,
    );
    let mut req = request(
        "/",
        &[
            ("x-keep", "k"),
            ("x-set", "old1"),
            ("x-other", "o"),
            ("x-set", "old2"),
            ("x-remove", "r"),
            ("content-length", "5"),
        ],
    );
    assert_eq!(p.handle(&mut req), Ok(Decision::Continue));
    let want = request(
        "/",
        &[
            ("x-keep", "k"),
            ("x-set", "new"),
            ("x-other", "o"),
            ("content-length", "5"),
            ("x-add", "n"),
            ("x-add", "e"),
        ],
    );
    assert_eq!(req.headers, want.headers);
}

#[test]
fn invalid_header_values_and_trailer_writes_trap_and_leave_the_request_intact() {
    let p = policy(
        r#"(data (i32.const 0) "x-a") (data (i32.const 8) "ok") (data (i32.const 16) "bad\0d\0a")
        (func (export "handle_request") (result i64)
          (drop (call $get_method (i32.const 1024) (i32.const 8)))
          (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 8) (i32.const 2))
          (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 84))
            (then (call $set_header_value (i32.const 2) (i32.const 0) (i32.const 3) (i32.const 8) (i32.const 2))))
          (call $set_header_value (i32.const 0) (i32.const 0) (i32.const 3) (i32.const 16) (i32.const 5))
          (i64.const 1))"#,
    );
    let before = request("/", &[("x-a", "orig")]);
    for method in ["GET", "TRAILERS"] {
        let mut req = before.clone();
        req.method = method.into();
        assert!(
            matches!(p.handle(&mut req), Err(CallError::Abi(_))),
            "{method}"
        );
        req.method = "GET".into();
        assert_eq!(req, before, "{method}: request restored");
    }
}

#[test]
fn read_body_streams_the_supplied_body() {
    let p = policy(
        r#"(func (export "_start") (drop (call $enable_features (i32.const 1))))
        (func (export "handle_request") (result i64)
          (local $r i64)
          (block $done
            (loop $more
              (local.set $r (call $read_body (i32.const 0) (i32.const 1024) (i32.const 3)))
              (call $write_body (i32.const 1) (i32.const 1024) (i32.wrap_i64 (local.get $r)))
              (br_if $done (i64.ne (i64.shr_u (local.get $r) (i64.const 32)) (i64.const 0)))
              (br $more)))
          (i64.const 0))"#,
    );
    assert!(p.wants_body());
    assert_eq!(p.features(), 1);
    for _ in 0..2 {
        let mut req = request("/", &[]);
        req.body = Some(Bytes::from_static(b"hello, policy body"));
        assert_eq!(
            respond(p.handle(&mut req).unwrap()).2,
            b"hello, policy body"
        );
        assert_eq!(
            req.body.as_deref(),
            Some(&b"hello, policy body"[..]),
            "body left for upstream"
        );
    }
    assert_eq!(respond(p.handle(&mut request("/", &[])).unwrap()).2, b"");
    let plain = policy(r#"(func (export "handle_request") (result i64) (i64.const 1))"#);
    assert!(!plain.wants_body());
}

#[test]
fn log_reaches_the_sink_and_is_capped_per_call() {
    let (host, rec) = recording_host();
    let body = r#"(data (i32.const 0) "hello from guest")
        (func (export "handle_request") (result i64)
          (local $i i32)
          (if (i32.eqz (call $log_enabled (i32.const 1))) (then unreachable))
          (loop $l
            (call $log (i32.const 1) (i32.const 0) (i32.const 16))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
          (i64.const 1))"#;
    let p = policy_with(&host, body, b"{}", Default::default());
    assert_eq!(p.handle(&mut request("/", &[])), Ok(Decision::Continue));
    let lines = rec.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 32);
    assert_eq!(
        lines[0],
        (
            "test".to_string(),
            LogLevel::Warn,
            "hello from guest".to_string()
        )
    );
    let quiet = policy(
        r#"(func (export "handle_request") (result i64) (i64.extend_i32_u (i32.eqz (call $log_enabled (i32.const 2)))))"#,
    );
    assert_eq!(
        quiet.handle(&mut request("/", &[])),
        Ok(Decision::Continue),
        "default host: logging disabled"
    );
}

#[test]
fn handle_response_is_called_only_for_a_request_context() {
    let p = policy(
        r#"(global $g (mut i32) (i32.const 0))
        (func (export "handle_response") (param $ctx i32) (param $err i32)
          (global.set $g (i32.add (i32.mul (local.get $ctx) (i32.const 10)) (local.get $err))))
        (func (export "handle_request") (result i64)
          (drop (call $get_method (i32.const 1024) (i32.const 8)))
          (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 81))
            (then (call $set_status_code (i32.add (i32.const 200) (global.get $g))) (return (i64.const 0))))
          (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 90)) (then (return (i64.const 1))))
          (i64.or (i64.shl (i64.const 7) (i64.const 32)) (i64.const 1)))"#,
    );
    let call = |m: &str| {
        let mut req = Request::new(m, "/");
        p.handle(&mut req).unwrap()
    };
    assert_eq!(call("Z"), Decision::Continue);
    assert_eq!(respond(call("QUERY")).0, 200, "ctx 0: not called");
    assert_eq!(call("GET"), Decision::Continue);
    assert_eq!(respond(call("QUERY")).0, 271, "ctx 7, isError 1");
}

#[test]
fn wasi_stubs_give_nothing_away() {
    let (host, rec) = recording_host();
    let text = format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          {}
          (data (i32.const 0) "\10\00\00\00\05\00\00\00") (data (i32.const 16) "oops!")
          (data (i32.const 32) "\ff\ff\ff\ff\ff\ff\ff\ff")
          (func (export "handle_request") (result i64)
            (drop (call $get_method (i32.const 100) (i32.const 8)))
            (if (i32.eq (i32.load8_u (i32.const 100)) (i32.const 88)) (then (call $exit (i32.const 3))))
            (if (i32.ne (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 64)) (i32.const 0)) (then unreachable))
            (if (i32.ne (i32.load (i32.const 64)) (i32.const 5)) (then unreachable))
            (if (i32.ne (call $fd_write (i32.const 3) (i32.const 0) (i32.const 1) (i32.const 64)) (i32.const 8)) (then unreachable))
            (if (i32.ne (call $env_sizes (i32.const 32) (i32.const 36)) (i32.const 0)) (then unreachable))
            (if (i64.ne (i64.load (i32.const 32)) (i64.const 0)) (then unreachable))
            (if (i32.ne (call $env_get (i32.const 40) (i32.const 48)) (i32.const 0)) (then unreachable))
            (i64.const 1))
          (func (export "handle_response") (param i32 i32)))"#,
        crate::common::PRELUDE
    );
    let p = switchyard_wasm::Policy::load(
        &host,
        "wasi",
        &crate::common::raw(&text),
        b"",
        Default::default(),
        None,
    )
    .unwrap();
    assert_eq!(p.handle(&mut request("/", &[])), Ok(Decision::Continue));
    assert_eq!(
        rec.0.lock().unwrap().clone(),
        vec![("wasi".to_string(), LogLevel::Debug, "oops!".to_string())]
    );
    let err = p.handle(&mut Request::new("X", "/")).unwrap_err();
    assert_eq!(
        (err.kind(), err.to_string().contains("proc_exit(3)")),
        ("abi", true)
    );
}
