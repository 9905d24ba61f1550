//! Launches a real redis-server (Debian package; `make test` installs it) on a free loopback
//! port with persistence off, and waits until it answers PING.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running redis-server.
pub struct Redis {
    child: Child,
    /// Its address.
    pub addr: SocketAddr,
}

impl Redis {
    /// Starts redis-server; panics if it does not answer within 10 s.
    pub fn start() -> Self {
        let port = crate::free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is missing: run `make test-deps`");
        let r = Redis {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let up = crate::eventually(Duration::from_secs(10), || {
            (r.command("PING").as_deref() == Some("+PONG")).then_some(())
        });
        assert!(up.is_some(), "redis-server did not answer PING");
        r
    }

    /// Sends one inline command and returns the first reply line.
    pub fn command(&self, cmd: &str) -> Option<String> {
        let mut s = TcpStream::connect(self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).ok()?;
        String::from_utf8_lossy(&buf[..n])
            .lines()
            .next()
            .map(str::to_owned)
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        let _ = Command::new("kill")
            .args(["-STOP", &self.child.id().to_string()])
            .status();
    }

    /// Kills the server (it stays down).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `redis://addr/0`.
    pub fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
