//! Connection-level limits: the head timeout (408 problem), idle keep-alive close, and the
//! max-connections gate.

use crate::common;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use switchyard_test_support::client;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;

/// A recording upstream and a proxy in front of it with these `server.limits`.
fn proxy_with(limits: &str) -> (RecordingUpstream, TestProxy) {
    common::proxy(&format!("  limits: {{ {limits} }}"))
}

#[test]
fn slow_head_gets_408_and_idle_connection_is_closed() {
    let (up, p) = proxy_with("header_timeout: 300ms, idle_timeout: 400ms");
    let mut s = client::connect(p.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: acme.erp.test\r\n")
        .expect("write");
    let t = Instant::now();
    let r = client::read_response(&mut s, false);
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(r.json()["type"], "urn:switchyard:problem:header-timeout");
    assert!(up.requests().is_empty());

    let mut idle = client::connect(p.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: acme.erp.test\r\n\r\n")
        .expect("write");
    assert_eq!(client::read_response(&mut idle, false).status, 200);
    let t = Instant::now();
    let mut buf = [0u8; 1];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "idle connection should be closed by the proxy");
    assert!(
        t.elapsed() >= Duration::from_millis(300) && t.elapsed() < Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn max_connections_holds_extra_connections_until_one_closes() {
    let (_up, p) = proxy_with("max_connections: 2");
    let mut held: Vec<_> = (0..2)
        .map(|_| {
            let mut s = client::connect(p.addr);
            s.write_all(b"GET / HTTP/1.1\r\nHost: acme.erp.test\r\n\r\n")
                .expect("write");
            assert_eq!(client::read_response(&mut s, false).status, 200);
            s
        })
        .collect();
    let mut third = client::connect(p.addr);
    third
        .set_read_timeout(Some(Duration::from_millis(400)))
        .expect("timeout");
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: acme.erp.test\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 64];
    assert!(
        third.read(&mut buf).is_err(),
        "a third connection was served over the limit"
    );
    held.pop();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(client::read_response(&mut third, false).status, 200);
}

#[test]
fn a_head_dripped_byte_by_byte_still_times_out() {
    let (up, p) = proxy_with("header_timeout: 300ms, idle_timeout: 5s");
    let mut s = client::connect(p.addr);
    s.set_nonblocking(true).expect("nonblocking");
    let t = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: acme.erp.test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut answer = Vec::new();
    for b in head.iter() {
        let _ = s.write_all(std::slice::from_ref(b));
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 1024];
        if let Ok(n) = s.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
            break;
        }
        if t.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "no 408 after {:?}: {text:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    assert!(up.requests().is_empty());
}
