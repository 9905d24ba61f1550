//! `TestProxy`: switchyard in-process from a YAML string, on 127.0.0.1:0 listeners, with its
//! own temp dir for the config file and data. `${DATA_DIR}` and `${DIR}` in the YAML are
//! filled in. Dropping it drains the proxy.

use std::net::SocketAddr;
use std::path::PathBuf;
use switchyard::proxy::{start, Options, Running};

/// A running in-process proxy.
pub struct TestProxy {
    running: Option<Running>,
    /// Plain data-plane address.
    pub addr: SocketAddr,
    /// TLS data-plane address.
    pub tls_addr: Option<SocketAddr>,
    /// Admin address.
    pub admin: SocketAddr,
    /// The config file.
    pub config_path: PathBuf,
    /// The temp dir (config, data).
    pub dir: tempfile::TempDir,
}

/// Fills the harness placeholders in a config.
pub fn fill(yaml: &str, dir: &std::path::Path) -> String {
    yaml.replace("${DATA_DIR}", &dir.join("data").display().to_string())
        .replace("${DIR}", &dir.display().to_string())
}

impl TestProxy {
    /// Starts a proxy (config file watching on); panics with the config errors if it cannot.
    pub fn start(yaml: &str) -> Self {
        Self::try_start(yaml).unwrap_or_else(|e| panic!("proxy did not start:\n{}", e.join("\n")))
    }

    /// Starts a proxy or returns its errors.
    pub fn try_start(yaml: &str) -> Result<Self, Vec<String>> {
        let dir = tempfile::tempdir().map_err(|e| vec![e.to_string()])?;
        let config_path = dir.path().join("switchyard.yaml");
        std::fs::write(&config_path, fill(yaml, dir.path())).map_err(|e| vec![e.to_string()])?;
        let running = start(Options {
            config_path: config_path.clone(),
            watch: true,
            signals: false,
        })?;
        Ok(TestProxy {
            addr: running.data.plain,
            tls_addr: running.data.tls,
            admin: running.admin,
            running: Some(running),
            config_path,
            dir,
        })
    }

    /// Replaces the config file atomically (write to a temp name, rename), as editors do.
    pub fn write_config(&self, yaml: &str) {
        let tmp = self.dir.path().join(".switchyard.yaml.tmp");
        std::fs::write(&tmp, fill(yaml, self.dir.path())).expect("write config");
        std::fs::rename(&tmp, &self.config_path).expect("rename config");
    }

    /// The live config version.
    pub fn version(&self) -> u64 {
        self.running
            .as_ref()
            .map_or(0, |r| r.shared.live.load().version)
    }

    /// The shared state (for assertions on internals).
    pub fn shared(&self) -> &std::sync::Arc<switchyard::live::Shared> {
        &self.running.as_ref().expect("running").shared
    }

    /// `POST /api/v1/reload` with a token.
    pub fn reload(&self, token: &str) -> crate::client::Resp {
        crate::client::admin(self.admin, "POST", "/api/v1/reload", Some(token), &[], b"")
    }

    /// `GET /api/v1/status` with a token, as JSON.
    pub fn status(&self, token: &str) -> serde_json::Value {
        crate::client::admin(self.admin, "GET", "/api/v1/status", Some(token), &[], b"").json()
    }

    /// `GET /metrics` as text.
    pub fn metrics(&self) -> String {
        crate::client::get(self.admin, "admin", "/metrics", &[]).text()
    }

    /// Stops the proxy and starts it again on the same config file and data directory (new
    /// ports), as a process restart would.
    pub fn restart(mut self) -> Self {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
        let running = start(Options {
            config_path: self.config_path.clone(),
            watch: true,
            signals: false,
        })
        .unwrap_or_else(|e| panic!("proxy did not restart:\n{}", e.join("\n")));
        self.addr = running.data.plain;
        self.tls_addr = running.data.tls;
        self.admin = running.admin;
        self.running = Some(running);
        self
    }

    /// Drains and stops.
    pub fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown();
        }
    }
}
