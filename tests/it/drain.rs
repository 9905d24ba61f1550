//! Graceful drain with the real binary: SIGTERM while a request is in flight — readiness turns
//! 503, new connections are refused, the in-flight request completes, the process exits 0.

use crate::common;
use std::process::{Command, Stdio};
use std::time::Duration;
use switchyard_test_support::upstream::{Behavior, RecordingUpstream};
use switchyard_test_support::{binary, client, eventually, free_port};

#[test]
fn sigterm_drains_in_flight_requests_then_exits_zero() {
    common::env();
    let slow = RecordingUpstream::with(Behavior::Delay(Duration::from_millis(1500)));
    let dir = tempfile::tempdir().expect("tmp");
    let (port, admin) = (free_port(), free_port());
    let yaml = common::config(&slow, "  shutdown_grace: 10s")
        .replace(
            "listen: 127.0.0.1:0\n  workers",
            &format!("listen: 127.0.0.1:{port}\n  workers"),
        )
        .replace(
            "listen: 127.0.0.1:0\n  tokens",
            &format!("listen: 127.0.0.1:{admin}\n  tokens"),
        )
        .replace(
            "${DATA_DIR}",
            &dir.path().join("data").display().to_string(),
        );
    let cfg = dir.path().join("switchyard.yaml");
    std::fs::write(&cfg, yaml).expect("write");
    let mut child = Command::new(binary())
        .args(["run", "--config"])
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let data: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let admin: std::net::SocketAddr = format!("127.0.0.1:{admin}").parse().expect("addr");
    let ready = eventually(Duration::from_secs(10), || {
        (std::net::TcpStream::connect(admin).is_ok()
            && client::get(admin, "x", "/readyz", &[]).status == 200)
            .then_some(())
    });
    assert!(ready.is_some(), "switchyard did not become ready");

    let in_flight = std::thread::spawn(move || client::get(data, "acme.erp.test", "/slow", &[]));
    assert!(
        eventually(Duration::from_secs(5), || (!slow.requests().is_empty())
            .then_some(()))
        .is_some()
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    // Readiness flips at once, while the request is still in flight.
    let draining = eventually(Duration::from_secs(2), || {
        let r = client::get(admin, "x", "/readyz", &[]);
        (r.status == 503 || r.status == 0).then_some(r.status)
    });
    assert!(
        draining.is_some(),
        "readiness did not turn 503 while draining"
    );
    let resp = in_flight.join().expect("thread");
    assert_eq!(
        resp.status,
        200,
        "the in-flight request was cut: {}",
        resp.text()
    );
    let status = eventually(Duration::from_secs(15), || child.try_wait().ok().flatten())
        .expect("did not exit");
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(data).is_err(),
        "still accepting after exit"
    );
    let log = dir.path().join("data/audit.log");
    let text = std::fs::read_to_string(&log).expect("audit log");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("proxy.stop")),
        "{text}"
    );
}
