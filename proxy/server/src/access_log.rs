//! The JSON access log: one line per request with route, tenant, pool, endpoint, status,
//! duration and reason code. Lines are handed to a writer thread over a bounded channel so
//! the data plane never blocks on stdout; when the channel is full the line is dropped and
//! counted rather than slowing traffic.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use switchyard_core::config::AccessLogTarget;

/// Handle to the writer thread.
pub struct AccessLog {
    tx: Option<SyncSender<String>>,
    dropped: AtomicU64,
    writer: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl AccessLog {
    /// Starts the writer for `target` (no thread for `off`).
    pub fn start(target: AccessLogTarget) -> Self {
        if target == AccessLogTarget::Off {
            return AccessLog {
                tx: None,
                dropped: AtomicU64::new(0),
                writer: Default::default(),
            };
        }
        let (tx, rx) = sync_channel::<String>(65_536);
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                let mut out: Box<dyn Write> = match target {
                    AccessLogTarget::Stderr => {
                        Box::new(std::io::LineWriter::new(std::io::stderr()))
                    }
                    _ => Box::new(std::io::BufWriter::new(std::io::stdout())),
                };
                // An empty line is the close sentinel: flush and stop.
                'outer: while let Ok(first) = rx.recv() {
                    let mut line = first;
                    loop {
                        if line.is_empty() {
                            let _ = out.flush();
                            break 'outer;
                        }
                        let _ = out.write_all(line.as_bytes());
                        match rx.try_recv() {
                            Ok(more) => line = more,
                            Err(_) => break,
                        }
                    }
                    let _ = out.flush();
                }
            });
        match spawned {
            Ok(h) => AccessLog {
                tx: Some(tx),
                dropped: AtomicU64::new(0),
                writer: std::sync::Mutex::new(Some(h)),
            },
            Err(_) => AccessLog {
                tx: None,
                dropped: AtomicU64::new(0),
                writer: Default::default(),
            },
        }
    }

    /// True when lines are written somewhere.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues one line (a JSON object followed by a newline).
    pub fn write(&self, line: String) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(line) {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Flushes everything queued and stops the writer.
    pub fn close(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(String::new());
        }
        if let Some(h) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
