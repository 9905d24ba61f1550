//! The test harness: a [`proxy::TestProxy`] running in-process on 127.0.0.1:0, recording
//! upstreams that keep the exact bytes they received ([`upstream`]), a small raw HTTP/1.1
//! client ([`client`]), launchers for the real Traefik binary ([`traefik`]) and redis-server
//! ([`redis`]), and certificates minted at test time ([`certs`]). Everything is synchronous
//! (std threads and sockets) so tests read top to bottom; every wait polls with a deadline.

pub mod certs;
pub mod client;
pub mod proxy;
pub mod redis;
pub mod traefik;
pub mod upstream;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The workspace root (holds Cargo.toml, deploy/, .venv/).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("."))
}

/// A loopback port that was free a moment ago (for external binaries that need a number).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// An address where nothing listens.
pub fn dead_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// Polls `f` until it returns `Some` or `within` passes.
pub fn eventually<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The switchyard binary built by `make test` (or `SWITCHYARD_BIN`).
pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("SWITCHYARD_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let p = target.join("debug/switchyard");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build -p switchyard` (make test does)",
        p.display()
    );
    p
}
