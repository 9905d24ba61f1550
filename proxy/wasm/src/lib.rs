//! switchyard-wasm runs request policies written against the http-wasm `http_handler` ABI (the
//! one Traefik v3 plugins use) inside wasmtime. A [`Host`] owns the engine, the ABI linker and
//! an epoch ticker; [`Policy::load`] compiles and vets a module (imports limited to the ABI and
//! four inert WASI stubs, required exports, sha256 pin) and keeps a small pool of ready
//! instances; [`Policy::handle`] runs the guest's `handle_request` on a [`Request`] under
//! wall-time, memory, stack and optional fuel [`Limits`] and returns a [`Decision`] or a typed
//! [`CallError`]. A failed instance is never reused. No tokio and no I/O here.
//!
//! What a caller must know:
//! - Threads: `Policy` is `Send + Sync`; share an `Arc<Policy>`. `handle` is synchronous CPU
//!   work bounded by [`Limits::time`] (plus, rarely, creating an instance when none is idle:
//!   at most [`limits::START_TIME`]); with millisecond limits call it inline on the worker,
//!   not through `spawn_blocking`. Concurrent calls each get their own instance.
//! - Load off the request path (`spawn_blocking`): compilation takes tens of milliseconds.
//! - Bodies: read the request body into [`Request::body`] only when [`Policy::wants_body`]
//!   (the guest enabled `buffer_request` at start); otherwise guests read an empty body.
//! - Errors: on `Err`, the request is exactly as it was; apply the policy's [`OnError`] and
//!   count `switchyard_policy_errors_total{policy, kind = err.kind()}`. Messages are for logs,
//!   never for clients.
//! - Decisions: [`Decision::Respond`] carries no framing headers; frame its body yourself.
//!   Re-check anything the guest may set (routing headers, `host`) as you would client input.

mod abi;
mod engine;
mod error;
pub mod limits;
mod log;
mod policy;
mod pool;
mod request;
mod state;
mod undo;
mod validate;

pub use engine::{Host, HostOptions};
pub use error::{CallError, LoadError};
pub use limits::{Limits, OnError};
pub use log::{DiscardLog, LogLevel, LogSink};
pub use policy::{Policy, PolicyStats};
pub use request::{Decision, Request};
pub use state::{FEATURE_BUFFER_REQUEST, FEATURE_BUFFER_RESPONSE, FEATURE_TRAILERS};
