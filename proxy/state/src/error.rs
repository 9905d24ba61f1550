//! The one error type of the state backends, with messages an operator can act on: which file
//! or key, and whether retrying later can help (`Unavailable`) or a human must look (`Corrupt`).

use std::path::PathBuf;

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The namespace name is not 1..=64 characters of `[a-z0-9_-]`.
    #[error("invalid state namespace {0:?}: use 1 to 64 characters of a-z, 0-9, '_' and '-'")]
    InvalidNamespace(String),

    /// The backend configuration cannot work (e.g. a malformed redis URL); fix the config.
    #[error("invalid state backend config: {0}")]
    Config(String),

    /// Reading or durably writing a local state file failed (disk full, permissions, fsync).
    #[error("state I/O on {}: {source}", path.display())]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Redis is down, unreachable, too slow or refusing writes; retrying later may succeed.
    #[error("state backend unavailable: {0}")]
    Unavailable(String),

    /// Stored state cannot be read back (not a JSON object of strings, wrong redis type).
    /// It is left untouched for a human to inspect; it is never silently emptied.
    #[error("corrupt state in {what}: {reason}")]
    Corrupt {
        /// The file path or redis key holding it.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}
