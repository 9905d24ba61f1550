//! The one error type of the spool. The server maps every variant to 503 for a webhook being
//! received (SPEC §9: never a false 2xx); the messages name the file and what the OS said, so an
//! operator can tell a full disk (`Full`, `Io` with ENOSPC) from a failing one (`Io` with EIO)
//! from damaged data that needs a human (`Corrupt`).

use std::io;
use std::path::Path;

/// Why a spool operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpoolError {
    /// Accepting the record would take the spool past `max_bytes` (`spool.max_bytes`).
    /// Deliveries, acks and purges free space; retrying later may succeed.
    #[error("webhook spool is full ({max_bytes} bytes)")]
    Full {
        /// The configured limit.
        max_bytes: u64,
    },

    /// One record is larger than a frame can hold (1 GiB); it can never be stored.
    #[error("webhook of {bytes} bytes is larger than the spool's largest record ({max} bytes)")]
    TooLarge {
        /// Encoded size of the refused record.
        bytes: u64,
        /// The largest encoded record the spool accepts.
        max: u64,
    },

    /// Writing, syncing, reading, creating or deleting a spool file failed (ENOSPC, EIO, …), or
    /// the writer thread is gone. Nothing the caller was refused for is kept on disk.
    #[error("webhook spool I/O: {0}")]
    Io(String),

    /// A frame that is not the torn tail of the log fails its CRC or cannot be decoded. The
    /// spool refuses to open rather than silently drop acknowledged webhooks: inspect the named
    /// segment, then move it aside (its records are lost) or restore it.
    #[error("corrupt webhook spool: {0}")]
    Corrupt(String),
}

/// `Io` naming the operation and the file it was applied to.
pub(crate) fn io_err(op: &str, path: &Path, err: &io::Error) -> SpoolError {
    SpoolError::Io(format!("{op} {}: {err}", path.display()))
}

/// `Io` for when the writer thread has stopped (it panicked, or the spool is being dropped).
pub(crate) fn writer_gone() -> SpoolError {
    SpoolError::Io("the spool writer thread has stopped".to_owned())
}
