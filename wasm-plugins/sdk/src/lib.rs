//! # switchyard-policy-sdk
//!
//! Write a request policy once, run it unchanged in switchyard (SPEC §3 step 8, §6) and in
//! Traefik 3.x (as a local WASM plugin). Both hosts speak the
//! [http-wasm `http_handler` ABI](https://http-wasm.io/http-handler-abi/); this crate is a
//! thin, documented layer over the [`http-wasm-guest`](https://docs.rs/http-wasm-guest)
//! crate that gives policies:
//!
//! - a typed request view ([`Request`]): method, path, query, headers, host, client address,
//!   and the body when the policy declares [`Features::BUFFER_REQUEST`];
//! - lenient configuration ([`config`]): `856` and `"856"`, `true` and `"true"`, lists as
//!   arrays or comma-separated strings — Traefik hands every YAML scalar over as a string,
//!   switchyard keeps YAML types;
//! - routing helpers: [`Request::route_to_pool`] sets `X-Switchyard-Pool: <pool>`,
//!   [`Request::route_to_variant`] sets `X-Switchyard-Variant: stable|canary`;
//! - answering helpers: [`deny`] (plain text), [`respond`] with a [`Reply`] (any status,
//!   headers, body; [`Reply::html`] for pages);
//! - a fake host (`testing::FakeExchange`, native builds only) for table-driven unit tests.
//!
//! ## A policy
//!
//! ```no_run
//! use switchyard_policy_sdk::{config::{Config, ConfigError, Value}, deny, Features, Policy, Request, Verdict};
//!
//! struct NoDbManager { status: u16 }
//!
//! impl Policy for NoDbManager {
//!     const NAME: &'static str = "no-db-manager";
//!     const FEATURES: Features = Features::NONE;
//!     fn from_config(v: &Value) -> Result<Self, ConfigError> {
//!         let c = Config::new(v)?;
//!         c.deny_unknown(&["status"])?;
//!         Ok(NoDbManager { status: c.field("status").u64(403)? as u16 })
//!     }
//!     fn on_request(&self, req: &mut Request<'_>) -> Verdict {
//!         if req.path().starts_with("/web/database/") {
//!             return deny(self.status, "database manager disabled");
//!         }
//!         Verdict::Continue
//!     }
//! }
//!
//! switchyard_policy_sdk::policy_main!(NoDbManager);
//! ```
//!
//! A policy crate is a binary (`src/main.rs`): the module's `_start` export runs `main`,
//! which reads the configuration once, enables the declared features and registers the
//! policy; the host then calls `handle_request` per request. `_start` exits with code 1 (after
//! logging through the host) when the configuration is refused, so a bad config fails the
//! load instead of failing requests.
//!
//! ## Building
//!
//! `make plugins` runs `cargo build --release --target wasm32-wasip1` in `wasm-plugins/` and
//! packages `dist/<policy>.wasm` plus a Traefik local-plugin tree. The modules import only
//! `http_handler.*` and four WASI functions (`environ_get`, `environ_sizes_get`, `fd_write`,
//! `proc_exit`) that Rust's start-up code references. Keep `std::collections::HashMap` with
//! its default hasher and `std::time` out of policies: they would import `random_get` and
//! `clock_time_get`.
//!
//! ## The host contract the policies rely on
//!
//! - `_start` is run exactly once per instance (a second call traps) before any request;
//!   `get_config` returns the JSON config (empty when none) and may be called with a
//!   too-small buffer, returning the size.
//! - `enable_features(1)` (buffer request) during `_start`; `read_body` (kind 0) returns the
//!   request body in chunks, EOF flagged in the high 32 bits. After a `Continue` verdict the
//!   SDK reads any rest of a body it started and writes the whole body back with `write_body`
//!   (kind 0), which must replace what the upstream receives ([`Request::restore_body`]
//!   explains the Traefik bug this works around).
//! - `handle_request` returning `next = 1` forwards the request with the header edits made;
//!   `next = 0` sends the response the guest wrote (headers, then `set_status_code`, then
//!   `write_body` kind 1), and nothing goes upstream.
//! - `get_header_names` may report lower-case names; lookups are case-insensitive.
//! - `get_source_addr` is the client's `ip:port` (`[v6]:port` for IPv6).
//!
//! ## Testing
//!
//! Unit tests run natively: `cargo test --target x86_64-unknown-linux-gnu` in `wasm-plugins/`.
//! The shared conformance table (`wasm-plugins/conformance.yaml`) is run against the real
//! hosts by the root workspace's `tests/it/conformance.rs`.

pub mod config;
pub mod net;
pub mod request;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(target_arch = "wasm32")]
pub use guest::run;

pub use config::{Config, ConfigError, Value};
pub use request::{
    deny, html_escape, respond, Exchange, Reply, Request, Variant, Verdict, POOL_HEADER,
    VARIANT_HEADER,
};

/// Host features a policy needs, enabled once at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features(u32);

impl Features {
    /// Nothing beyond headers.
    pub const NONE: Features = Features(0);
    /// The request body is buffered: the policy may read it and the upstream still gets it.
    pub const BUFFER_REQUEST: Features = Features(1);

    /// True when every feature in `other` is in `self`.
    pub fn contains(self, other: Features) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A request policy.
pub trait Policy: Sized + 'static {
    /// Its name, used in log lines (`edge-guard`).
    const NAME: &'static str;
    /// Features it needs ([`Features::BUFFER_REQUEST`] to read bodies).
    const FEATURES: Features;

    /// Builds the policy from its configuration, refusing bad or unknown settings.
    fn from_config(config: &Value) -> Result<Self, ConfigError>;

    /// Decides one request: edit headers and continue, or answer.
    fn on_request(&self, req: &mut Request<'_>) -> Verdict;
}

/// Declares `main` for a policy binary: on wasm32 it runs `run` for `$policy`; on other
/// targets it is `check_config` (a config validator).
#[macro_export]
macro_rules! policy_main {
    ($policy:ty) => {
        #[cfg(target_arch = "wasm32")]
        fn main() {
            $crate::run::<$policy>();
        }

        #[cfg(not(target_arch = "wasm32"))]
        fn main() {
            std::process::exit($crate::check_config::<$policy>(std::env::args().nth(1)));
        }
    };
}

/// The native `main` of a policy binary: validates a JSON configuration given as the first
/// argument (`cargo run --target x86_64-unknown-linux-gnu --bin edge_guard -- '{…}'`) and
/// returns the exit code. The policy itself only runs inside an http-wasm host.
#[cfg(not(target_arch = "wasm32"))]
pub fn check_config<P: Policy>(json: Option<String>) -> i32 {
    let Some(json) = json else {
        eprintln!(
            "{}: runs inside an http-wasm host (build with `make plugins`); \
             pass a JSON config to validate it",
            P::NAME
        );
        return 2;
    };
    match Value::parse(json.as_bytes()).and_then(|v| P::from_config(&v)) {
        Ok(_) => {
            println!("{}: config ok", P::NAME);
            0
        }
        Err(e) => {
            eprintln!("{}: {e}", P::NAME);
            1
        }
    }
}
