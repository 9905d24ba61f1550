//! Typed failures: [`LoadError`] when a module is compiled and vetted, [`CallError`] when one
//! call fails. Call errors carry a short [`CallError::kind`] label for
//! `switchyard_policy_errors_total{policy,kind}`; their messages are for logs and operators,
//! never for clients (the caller answers per [`crate::OnError`]).

use wasmtime::Trap;

/// Why a module could not become a [`crate::Policy`] (or the [`crate::Host`] could not start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    /// wasmtime rejected the engine configuration or the ticker could not start.
    #[error("wasm engine: {0}")]
    Engine(String),
    /// Not a valid wasm module, an unsupported feature, a mistyped ABI import, or bad limits.
    #[error("invalid policy module: {0}")]
    Invalid(String),
    /// The module imports something outside the `http_handler` ABI and the four WASI stubs;
    /// names it as `module.name`.
    #[error("forbidden import {0}")]
    ForbiddenImport(String),
    /// A required export (`memory`, `handle_request`, `handle_response`) is missing, or it or
    /// `_initialize`/`_start` has the wrong type; names it with the expected type.
    #[error("missing or mistyped export {0}")]
    MissingExport(String),
    /// The module's sha256 is not the pinned one.
    #[error("sha256 mismatch: expected {expected}, got {actual}")]
    Sha256Mismatch {
        /// The pin, as given.
        expected: String,
        /// The module's digest, lower-case hex.
        actual: String,
    },
    /// Instantiation failed (for example the initial memory exceeds [`crate::Limits::memory`]).
    #[error("cannot instantiate: {0}")]
    Instantiate(String),
    /// `_initialize` or `_start` trapped, timed out or exceeded a limit.
    #[error("_start failed: {0}")]
    StartTrapped(String),
}

/// Why one [`crate::Policy::handle`] call failed. The request is left as it was before the
/// call, and the instance that failed is discarded, never reused.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    /// The guest trapped (`unreachable`, out-of-bounds access, division by zero, …).
    #[error("guest trapped: {0}")]
    Trap(String),
    /// The call ran past [`crate::Limits::time`].
    #[error("guest exceeded its time limit")]
    Timeout,
    /// The guest tried to grow its memory past [`crate::Limits::memory`].
    #[error("guest exceeded its memory limit")]
    Memory,
    /// The guest exhausted the wasm stack (deep recursion).
    #[error("guest exhausted its stack")]
    StackOverflow,
    /// The guest used up [`crate::Limits::fuel`].
    #[error("guest ran out of fuel")]
    Fuel,
    /// The guest misused the ABI: an out-of-bounds buffer, an invalid header/method/URI, an
    /// unsupported operation, a host-side cap exceeded, `proc_exit`, or a bad `next` value.
    #[error("guest broke the ABI: {0}")]
    Abi(String),
    /// No instance was idle and a fresh one could not be created.
    #[error("cannot create an instance: {0}")]
    Instantiate(String),
}

impl CallError {
    /// Short metric label: `trap`, `timeout`, `memory`, `stack`, `fuel`, `abi`, `instantiate`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Trap(_) => "trap",
            CallError::Timeout => "timeout",
            CallError::Memory => "memory",
            CallError::StackOverflow => "stack",
            CallError::Fuel => "fuel",
            CallError::Abi(_) => "abi",
            CallError::Instantiate(_) => "instantiate",
        }
    }

    /// Classifies an error returned by a guest call. `memory_exceeded` comes from the store's
    /// limiter, which knows when a trap was its doing.
    pub(crate) fn classify(err: &wasmtime::Error, memory_exceeded: bool) -> CallError {
        if memory_exceeded {
            return CallError::Memory;
        }
        if let Some(v) = err.downcast_ref::<AbiViolation>() {
            return CallError::Abi(v.0.clone());
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Timeout,
            Some(Trap::StackOverflow) => CallError::StackOverflow,
            Some(Trap::OutOfFuel) => CallError::Fuel,
            Some(trap) => CallError::Trap(trap.to_string()),
            None => CallError::Trap(format!("{err:#}")),
        }
    }
}

/// A trap raised by the host because the guest broke the ABI contract.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct AbiViolation(pub(crate) String);

/// Shorthand for host functions: trap with an [`AbiViolation`].
pub(crate) fn abi_err(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(AbiViolation(msg.into()))
}
