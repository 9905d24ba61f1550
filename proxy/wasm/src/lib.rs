//! switchyard-wasm runs request policies written against the http-wasm `http_handler` ABI (the
//! one Traefik v3 plugins use) inside wasmtime. A [`Host`] owns the engine, the ABI linker and
//! an epoch ticker; [`Policy::load`] compiles and vets a module (imports limited to the ABI and
//! four inert WASI stubs, required exports, sha256 pin) and keeps a small pool of ready
//! instances; [`Policy::handle`] runs the guest's `handle_request` on a [`Request`] under
//! wall-time, memory, stack and optional fuel [`Limits`] and returns a [`Decision`] or a typed
//! [`CallError`], after which the caller applies the policy's [`OnError`]. A failed instance is
//! never reused. No tokio and no I/O here: calls are synchronous and short.

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
