//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! ready once it answers PING, killed on drop. Can be killed and restarted on the same port to
//! simulate an outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const READY_WITHIN: Duration = Duration::from_secs(10);

/// One redis-server child process on `127.0.0.1:port`.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server on a port nobody was listening on a moment ago.
    pub(crate) async fn start() -> RedisServer {
        RedisServer::start_on(free_port()).await
    }

    /// A port that was free just now; for a store pointed at a redis that is not there (yet).
    pub(crate) fn unused_port() -> u16 {
        free_port()
    }

    /// A server on a given port, e.g. one a store is already pointed at.
    pub(crate) async fn start_on(port: u16) -> RedisServer {
        let mut server = RedisServer {
            port,
            child: None,
            dir: tempfile::tempdir().unwrap(),
        };
        server.restart().await;
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (SIGKILL) and reaps it; connections to it break at once.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing answers.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .expect("server running")
            .id()
            .to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// (Re)starts the server on the same port (empty: persistence is off) and waits for PING.
    pub(crate) async fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        while !self.answers_ping().await {
            assert!(
                Instant::now() < deadline,
                "redis-server on {port} not ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn answers_ping(&self) -> bool {
        let attempt = async {
            let mut conn = TcpStream::connect(("127.0.0.1", self.port)).await?;
            conn.write_all(b"PING\r\n").await?;
            let mut reply = [0u8; 7];
            conn.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(&reply == b"+PONG\r\n")
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), attempt).await,
            Ok(Ok(true))
        )
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
