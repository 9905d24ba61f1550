//! Where guest log lines go. The http-wasm `log`/`log_enabled` functions (and text a guest
//! writes to stdout/stderr through the WASI `fd_write` stub, at debug) are forwarded to a
//! [`LogSink`] chosen when the [`crate::Host`] is built; lines are cut to
//! [`crate::limits::MAX_LOG_MESSAGE`] bytes and at most [`crate::limits::MAX_LOGS_PER_CALL`]
//! lines per call are passed on, so a chatty guest cannot flood the proxy's log.

/// http-wasm log levels (`log_level` in the ABI: debug = -1, info = 0, warn = 1, error = 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// -1
    Debug,
    /// 0
    Info,
    /// 1
    Warn,
    /// 2
    Error,
}

impl LogLevel {
    /// The ABI value to a level; `none` (3) and unknown values give `None`.
    pub fn from_abi(level: i32) -> Option<LogLevel> {
        match level {
            -1 => Some(LogLevel::Debug),
            0 => Some(LogLevel::Info),
            1 => Some(LogLevel::Warn),
            2 => Some(LogLevel::Error),
            _ => None,
        }
    }
}

/// Receives guest log lines. Called on the request path: keep it cheap and non-blocking.
pub trait LogSink: Send + Sync + 'static {
    /// Whether lines at `level` are wanted (answers the guest's `log_enabled`).
    fn enabled(&self, level: LogLevel) -> bool;
    /// One line from policy `policy`; `message` is lossily decoded UTF-8, already truncated.
    fn log(&self, policy: &str, level: LogLevel, message: &str);
}

/// A sink that wants nothing; guests see every level disabled.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardLog;

impl LogSink for DiscardLog {
    fn enabled(&self, _level: LogLevel) -> bool {
        false
    }

    fn log(&self, _policy: &str, _level: LogLevel, _message: &str) {}
}
