//! The sandbox's budgets: the per-policy [`Limits`] (wall time through the epoch deadline,
//! linear memory through a `ResourceLimiter`, optional fuel), the [`OnError`] choice the caller
//! applies when a call fails, and the fixed caps on what a guest may store on the host side
//! during one call (headers, URI, response body, log lines), so that neither guest memory nor
//! host memory nor time is unbounded.

use std::time::Duration;

use wasmtime::{ResourceLimiter, Result};

/// Longest method a guest may set.
pub const MAX_METHOD: usize = 32;
/// Longest URI a guest may set.
pub const MAX_URI: usize = 8 * 1024;
/// Longest header name plus value a guest may set.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Most header fields a message may hold after a guest adds one.
pub const MAX_HEADERS: usize = 512;
/// Bytes a guest may hand the host in one call (header names and values, URI, method,
/// response body) before the call traps.
pub const MAX_HOST_BYTES_PER_CALL: usize = 2 * 1024 * 1024;
/// Longest guest log line passed on.
pub const MAX_LOG_MESSAGE: usize = 4 * 1024;
/// Guest log lines passed on per call; the rest are dropped.
pub const MAX_LOGS_PER_CALL: u32 = 32;
/// Largest policy configuration (`get_config`).
pub const MAX_CONFIG: usize = 1024 * 1024;
/// Wall time allowed to instantiate a module and run its `_start` (once per instance).
pub const START_TIME: Duration = Duration::from_millis(100);
/// Table elements a guest may grow its tables to.
pub const MAX_TABLE_ELEMENTS: usize = 100_000;

/// What one call of a policy may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall time per `handle` call, enforced by the epoch deadline (granularity: the host's
    /// epoch tick, so a call is stopped between `time - tick` and `time` plus scheduling delay).
    pub time: Duration,
    /// Largest linear memory of an instance, in bytes; growing past it traps
    /// ([`crate::CallError::Memory`]). Applies to the module's initial memory too.
    pub memory: u64,
    /// Fuel (roughly, wasm instructions) per call; needs a host built with
    /// [`crate::HostOptions::fuel`].
    pub fuel: Option<u64>,
}

impl Default for Limits {
    /// 5 ms, 16 MiB, no fuel.
    fn default() -> Self {
        Limits {
            time: Duration::from_millis(5),
            memory: 16 * 1024 * 1024,
            fuel: None,
        }
    }
}

impl Limits {
    /// The epoch deadline, in ticks beyond the current epoch, for a wall time `time`.
    pub(crate) fn ticks(time: Duration, tick: Duration) -> u64 {
        let tick = tick.as_nanos().max(1);
        let ticks = time.as_nanos().div_ceil(tick);
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
    }
}

/// What the caller does with a request when its policy call fails (trap, timeout, memory, …).
/// The host only reports the failure; applying this choice is the caller's job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// Forward the request as it arrived (the host leaves it unmodified on failure).
    Allow,
    /// Refuse the request.
    #[default]
    Deny,
}

/// Per-store limiter: caps linear memory and tables, and remembers when the memory cap was hit
/// so the failure is reported as [`crate::CallError::Memory`] rather than a plain trap.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory: usize,
    pub(crate) memory_exceeded: bool,
}

impl Limiter {
    pub(crate) fn new(memory: u64) -> Limiter {
        Limiter {
            memory: usize::try_from(memory).unwrap_or(usize::MAX),
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool> {
        if desired > self.memory {
            // A trap, not `Ok(false)`: a guest that ignores -1 from memory.grow would otherwise
            // spin until the deadline, and Rust guests abort on allocation failure anyway.
            self.memory_exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.memory);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up_and_never_zero() {
        let ms = Duration::from_millis;
        assert_eq!(Limits::ticks(ms(2), ms(1)), 2);
        assert_eq!(Limits::ticks(Duration::from_micros(1500), ms(1)), 2);
        assert_eq!(Limits::ticks(Duration::ZERO, ms(1)), 1);
        assert_eq!(Limits::ticks(ms(5), Duration::ZERO), 5_000_000);
    }
}
