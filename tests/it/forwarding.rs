//! Forwarding: round-robin, health checks, timeouts (502/504 without leaking connections),
//! one retry of idempotent requests after a connect failure, streaming bodies, WebSocket
//! upgrade pass-through, prior-knowledge h2c, and pipelined requests.

use crate::common;
use std::io::{Read, Write};
use std::time::Duration;
use switchyard_test_support::client;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};
use switchyard_test_support::{dead_addr, eventually};

/// A GET through a fresh proxy to an upstream that answers these exact bytes.
fn get_answered_by(upstream_answer: &str) -> client::Resp {
    common::env();
    let up = RecordingUpstream::with(Behavior::Raw(upstream_answer.into()));
    let p = TestProxy::start(&common::config(&up, ""));
    client::get(p.addr, "acme.erp.test", "/", &[])
}

/// Sends a good request followed by a bad one on one connection: the first is served, the
/// second answered 400 with `marker` in the answer, and the upstream saw only `first`.
fn assert_refused_after(bytes: &[u8], first: &str, marker: &str) {
    let (out, lines) = one_connection(bytes);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.contains("HTTP/1.1 400") && out.contains(marker),
        "{out}"
    );
    assert_eq!(lines, [first]);
}

/// Sends `bytes` on one connection to a fresh proxy; returns everything that came back and
/// the request lines the upstream received.
fn one_connection(bytes: &[u8]) -> (String, Vec<String>) {
    let (up, p) = common::proxy("");
    let out = String::from_utf8_lossy(&client::raw_all(p.addr, bytes)).into_owned();
    (
        out,
        up.requests().iter().map(|r| r.request_line()).collect(),
    )
}

#[test]
fn round_robin_over_endpoints() {
    common::env();
    let (a, b) = (RecordingUpstream::start(), RecordingUpstream::start());
    let p = TestProxy::start(&common::config_with(
        &format!("{}, {}", a.url(), b.url()),
        "",
        "",
    ));
    for _ in 0..10 {
        assert_eq!(client::get(p.addr, "acme.erp.test", "/", &[]).status, 200);
    }
    assert_eq!((a.requests().len(), b.requests().len()), (5, 5));
}

#[test]
fn dead_upstream_is_502_and_idempotent_requests_retry_elsewhere() {
    common::env();
    let dead = format!("http://{}", dead_addr());
    let timeouts = "    timeouts: { connect: 500ms, request: 2s }";
    // The first pick is the dead endpoint. A GET (idempotent, no body) is retried once on the
    // live one; the dead one is then skipped (passive ejection).
    let live = RecordingUpstream::start();
    let p = TestProxy::start(&common::config_with(
        &format!("{dead}, {}", live.url()),
        "",
        timeouts,
    ));
    for _ in 0..4 {
        let r = client::get(p.addr, "acme.erp.test", "/web", &[]);
        assert_eq!(
            r.status,
            200,
            "GET retried on the live endpoint: {}",
            r.text()
        );
    }
    assert_eq!(live.requests().len(), 4);
    let s = p.status(common::VIEWER_TOKEN);
    assert_eq!(s["pools"][0]["endpoints"][0]["connect_failures"], 1, "{s}");
    assert_eq!(s["pools"][0]["endpoints"][0]["healthy"], false, "{s}");

    // A POST with a body is never retried: it fails with 502 when it hit the dead endpoint.
    let live2 = RecordingUpstream::start();
    let p2 = TestProxy::start(&common::config_with(
        &format!("{dead}, {}", live2.url()),
        "",
        timeouts,
    ));
    let r = client::request(p2.addr, "POST", "acme.erp.test", "/web", &[], b"x=1");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(
        r.json()["type"],
        "urn:switchyard:problem:upstream-unreachable"
    );
    assert!(live2.requests().is_empty(), "a POST was retried");
    assert_eq!(
        client::request(p2.addr, "POST", "acme.erp.test", "/web", &[], b"x=1").status,
        200
    );
}

#[test]
fn hung_upstream_is_504_within_the_timeout_and_leaks_no_connection() {
    common::env();
    let hung = RecordingUpstream::with(Behavior::Hang);
    let p = TestProxy::start(&common::config_with(
        &hung.url(),
        "",
        "    timeouts: { connect: 1s, request: 300ms }",
    ));
    let t = std::time::Instant::now();
    let r = client::get(p.addr, "acme.erp.test", "/", &[]);
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(r.json()["pool"], "odoo");
    // The timed-out upstream connection is closed, not returned to the pool.
    assert!(
        eventually(Duration::from_secs(5), || (hung.open_connections() == 0)
            .then_some(()))
        .is_some(),
        "upstream connection leaked"
    );
}

#[test]
fn health_checks_take_failing_endpoints_out_and_back() {
    common::env();
    let good = RecordingUpstream::start();
    let bad = RecordingUpstream::with(Behavior::Respond(500, "down".into()));
    let health = "    health: { path: /web/health, interval: 100ms, timeout: 200ms }";
    let p = TestProxy::start(&common::config_with(
        &format!("{}, {}", good.url(), bad.url()),
        "",
        health,
    ));
    let healthy = |p: &TestProxy| p.status(common::VIEWER_TOKEN)["pools"][0]["endpoints"].clone();
    let out = eventually(Duration::from_secs(5), || {
        let eps = healthy(&p);
        (eps[1]["healthy"] == false && eps[0]["healthy"] == true).then_some(())
    });
    assert!(
        out.is_some(),
        "the 500-answering endpoint was never marked unhealthy: {}",
        healthy(&p)
    );
    let before = bad
        .requests()
        .iter()
        .filter(|r| !r.request_line().contains("/web/health"))
        .count();
    for _ in 0..6 {
        assert_eq!(client::get(p.addr, "acme.erp.test", "/", &[]).status, 200);
    }
    let after = bad
        .requests()
        .iter()
        .filter(|r| !r.request_line().contains("/web/health"))
        .count();
    assert_eq!(before, after, "traffic reached an unhealthy endpoint");
    let metrics = p.metrics();
    assert!(
        metrics.contains(&format!(
            "switchyard_upstream_health{{endpoint=\"{}\",pool=\"odoo\"}} 0",
            bad.url()
        )),
        "{metrics}"
    );
}

#[test]
fn all_unhealthy_is_503_with_retry_after() {
    common::env();
    let bad = RecordingUpstream::with(Behavior::Respond(503, "down".into()));
    let p = TestProxy::start(&common::config_with(
        &bad.url(),
        "",
        "    health: { path: /h, interval: 100ms, timeout: 200ms }",
    ));
    let r = eventually(Duration::from_secs(5), || {
        let r = client::get(p.addr, "acme.erp.test", "/", &[]);
        (r.header("content-type") == Some("application/problem+json")).then_some(r)
    })
    .expect("never refused");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[test]
fn large_bodies_stream_both_ways() {
    let (up, p) = common::proxy("  limits: { max_body: 8MiB }");
    let body = vec![b'z'; 3 << 20];
    let r = client::request(p.addr, "PUT", "acme.erp.test", "/web/binary", &[], &body);
    assert_eq!(r.status, 200);
    assert_eq!(up.requests()[0].body.len(), body.len());
    // Chunked over the limit is cut at the limit: 413, and the client gets a problem.
    let small = TestProxy::start(&common::config(&up, "  limits: { max_body: 1KiB }"));
    let mut raw =
        b"POST /x HTTP/1.1\r\nHost: acme.erp.test\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..8 {
        raw.extend_from_slice(b"200\r\n");
        raw.extend_from_slice(&[b'y'; 512]);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = client::raw(small.addr, &raw);
    assert_eq!(r.status, 413, "{}", r.text());
}

#[test]
fn websocket_upgrade_passes_through() {
    common::env();
    let up = RecordingUpstream::with(Behavior::UpgradeEcho);
    let p = TestProxy::start(&common::config(&up, ""));
    let mut s = client::connect(p.addr);
    s.write_all(b"GET /websocket HTTP/1.1\r\nHost: acme.erp.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").expect("write");
    let r = client::read_response(&mut s, false);
    assert_eq!(r.status, 101);
    assert_eq!(r.header("upgrade"), Some("websocket"));
    s.write_all(b"ping-frame-bytes").expect("write");
    let mut buf = [0u8; 16];
    s.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"ping-frame-bytes");
    let head = up.requests()[0].head_str().to_ascii_lowercase();
    assert!(
        head.contains("upgrade: websocket") && head.contains("connection: upgrade"),
        "{head}"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (out, lines) = one_connection(b"GET /one HTTP/1.1\r\nHost: acme.erp.test\r\n\r\nPOST /two HTTP/1.1\r\nHost: acme.erp.test\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: acme.erp.test\r\nConnection: close\r\n\r\n");
    assert_eq!(out.matches("HTTP/1.1 200").count(), 3, "{out}");
    assert_eq!(
        lines,
        [
            "GET /one HTTP/1.1",
            "POST /two HTTP/1.1",
            "GET /three HTTP/1.1"
        ]
    );
}

#[test]
fn a_smuggled_request_after_a_good_one_is_refused_and_never_forwarded() {
    assert_refused_after(b"GET /ok HTTP/1.1\r\nHost: acme.erp.test\r\n\r\nPOST /x HTTP/1.1\r\nHost: acme.erp.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: acme.erp.test\r\n\r\n", "GET /ok HTTP/1.1", "application/problem+json");
}

#[test]
fn h2c_prior_knowledge_is_served() {
    let (up, p) = common::proxy("");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let status = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(p.addr)
            .await
            .expect("connect");
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(tcp),
        )
        .await
        .expect("h2 handshake");
        tokio::spawn(conn);
        let req = http::Request::get("http://acme.erp.test/web//h2")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("req");
        send.send_request(req).await.expect("response").status()
    });
    assert_eq!(status, 200);
    assert_eq!(up.requests()[0].request_line(), "GET /web/h2 HTTP/1.1");
    assert_eq!(up.requests()[0].header("host"), ["acme.erp.test"]);
}

#[test]
fn an_upgrade_that_was_refused_keeps_the_connection_strict() {
    assert_refused_after(b"GET /ws HTTP/1.1\r\nHost: acme.erp.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nPOST /x HTTP/1.1\r\nHost: acme.erp.test\r\nTransfer_Encoding: chunked\r\n\r\n0\r\n\r\n", "GET /ws HTTP/1.1", "mimics a framing field");
}

#[test]
fn ambiguous_upstream_framing_is_a_502_not_a_desync() {
    let r = get_answered_by("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 20\r\n\r\nok");
    assert_eq!(r.status, 502, "{}", r.text());
    // Chunked wins over Content-Length, and the client gets consistent framing.
    let r = get_answered_by("HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    assert_ne!(r.header("content-length"), Some("99"));
}

#[test]
fn a_stale_pooled_connection_is_replaced_transparently() {
    common::env();
    let up = RecordingUpstream::with(Behavior::RespondThenClose);
    let p = TestProxy::start(&common::config(&up, ""));
    for i in 0..5 {
        let r = client::get(p.addr, "acme.erp.test", "/", &[]);
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    assert_eq!(up.requests().len(), 5);
}

#[test]
fn expect_100_continue_is_answered_only_when_the_body_is_wanted() {
    let (up, p) = common::proxy("");
    let mut s = client::connect(p.addr);
    s.write_all(b"POST /web HTTP/1.1\r\nHost: acme.erp.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").expect("write");
    let interim = client::read_response(&mut s, true);
    assert_eq!(interim.status, 100);
    s.write_all(b"hello").expect("write");
    assert_eq!(client::read_response(&mut s, false).status, 200);
    let seen = &up.requests()[0];
    assert!(seen.header("expect").is_empty(), "{}", seen.head_str());
    assert_eq!(seen.body, b"hello");
    // Refused before the body is wanted: no 100, the answer straight away.
    let mut s = client::connect(p.addr);
    s.write_all(b"POST /web HTTP/1.1\r\nHost: zeta.erp.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n").expect("write");
    assert_eq!(client::read_response(&mut s, false).status, 404);
}

#[test]
fn http10_keep_alive_is_confirmed_and_honoured() {
    let (up, p) = common::proxy("");
    let mut s = client::connect(p.addr);
    for _ in 0..2 {
        s.write_all(b"GET / HTTP/1.0\r\nHost: acme.erp.test\r\nConnection: keep-alive\r\n\r\n")
            .expect("write");
        let r = client::read_response(&mut s, false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), Some("keep-alive"));
    }
    assert_eq!(up.requests().len(), 2);
}

#[test]
fn broken_chunked_request_body_gets_an_answer_then_close() {
    let (up, p) = common::proxy("");
    let out = String::from_utf8_lossy(&client::raw_all(p.addr, b"POST /x HTTP/1.1\r\nHost: acme.erp.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: acme.erp.test\r\n\r\n")).into_owned();
    assert!(
        out.starts_with("HTTP/1.1 400") || out.starts_with("HTTP/1.1 502"),
        "{out}"
    );
    assert_eq!(
        out.matches("HTTP/1.1 ").count(),
        1,
        "nothing after a broken body is served: {out}"
    );
    assert!(!up
        .requests()
        .iter()
        .any(|r| r.request_line().contains("/next")));
}

#[test]
fn unsupported_upstream_transfer_coding_is_a_502() {
    let r = get_answered_by(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 502);
}

#[test]
fn a_streaming_response_is_relayed_as_it_comes() {
    common::env();
    let up = RecordingUpstream::with(Behavior::Stream(Duration::from_millis(1500)));
    let p = TestProxy::start(&common::config(&up, ""));
    let mut s = client::connect(p.addr);
    s.write_all(b"GET /export HTTP/1.1\r\nHost: acme.erp.test\r\n\r\n")
        .expect("write");
    s.set_read_timeout(Some(Duration::from_millis(800)))
        .expect("timeout");
    let mut early = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&early).contains("first") {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => early.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&early).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 200") && text.contains("first"),
        "nothing before the upstream finished: {text:?}"
    );
    assert!(!text.contains("second"));
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rest = Vec::new();
    while !String::from_utf8_lossy(&rest).contains("0\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(n) if n > 0 => rest.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    assert!(String::from_utf8_lossy(&rest).contains("second"));
}
