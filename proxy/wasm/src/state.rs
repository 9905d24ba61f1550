//! The data each wasmtime `Store` carries: the request lent to the guest for one call (swapped
//! in and out, never copied), a lazy backup taken on the first change so a failed call can be
//! undone, the response the guest is writing, enabled features, the limiter and per-call
//! budgets. Host functions in [`crate::abi`] act on it; [`crate::pool`] begins and ends calls.

use std::sync::Arc;

use wasmtime::Memory;

use crate::error::abi_err;
use crate::limits::{Limiter, MAX_HOST_BYTES_PER_CALL, MAX_LOGS_PER_CALL};
use crate::log::LogSink;
use crate::request::{Decision, Request};

/// `feature_buffer_request`: the body is buffered and readable with `read_body`.
pub const FEATURE_BUFFER_REQUEST: u32 = 1;
/// `feature_buffer_response`: not offered (no response phase).
pub const FEATURE_BUFFER_RESPONSE: u32 = 2;
/// `feature_trailers`: not offered.
pub const FEATURE_TRAILERS: u32 = 4;
/// The features this host can enable.
pub(crate) const SUPPORTED_FEATURES: u32 = FEATURE_BUFFER_REQUEST;

/// What every instance of one policy shares.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) config: Arc<[u8]>,
    pub(crate) log: Arc<dyn LogSink>,
}

/// The parts of a request a guest can change, as they were before its first change.
struct Backup {
    method: String,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
}

/// The response a guest writes during `handle_request`.
#[derive(Default)]
pub(crate) struct Response {
    pub(crate) status: Option<u16>,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
    /// A status was set or a body written: the guest answered even if it said `next=1`.
    pub(crate) written: bool,
}

/// Store data of one instance.
pub(crate) struct CallState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) memory: Option<Memory>,
    pub(crate) limiter: Limiter,
    pub(crate) req: Request,
    pub(crate) resp: Response,
    pub(crate) body_pos: usize,
    /// Features in force now: the instance's (enabled during `_start`) plus this request's.
    pub(crate) features: u32,
    pub(crate) base_features: u32,
    pub(crate) in_request: bool,
    pub(crate) logs_left: u32,
    host_bytes_left: usize,
    backup: Option<Backup>,
}

impl CallState {
    pub(crate) fn new(shared: Arc<Shared>, memory_limit: u64) -> CallState {
        CallState {
            shared,
            memory: None,
            limiter: Limiter::new(memory_limit),
            req: Request::default(),
            resp: Response::default(),
            body_pos: 0,
            features: 0,
            base_features: 0,
            in_request: false,
            logs_left: MAX_LOGS_PER_CALL,
            host_bytes_left: MAX_HOST_BYTES_PER_CALL,
            backup: None,
        }
    }

    /// Lends `req` to the guest for one call.
    pub(crate) fn begin(&mut self, req: &mut Request) {
        std::mem::swap(&mut self.req, req);
        self.in_request = true;
    }

    /// Gives the request back; on failure, undoes the guest's changes. Resets per-call state.
    pub(crate) fn end(&mut self, req: &mut Request, ok: bool) {
        std::mem::swap(&mut self.req, req);
        if let (false, Some(b)) = (ok, self.backup.take()) {
            req.method = b.method;
            req.uri = b.uri;
            req.headers = b.headers;
        }
        self.req = Request::default();
        self.resp = Response::default();
        self.backup = None;
        self.body_pos = 0;
        self.features = self.base_features;
        self.in_request = false;
        self.logs_left = MAX_LOGS_PER_CALL;
        self.host_bytes_left = MAX_HOST_BYTES_PER_CALL;
    }

    /// Called before any change to the request: keeps a copy to restore on failure.
    pub(crate) fn touch_request(&mut self) {
        if self.backup.is_none() {
            self.backup = Some(Backup {
                method: self.req.method.clone(),
                uri: self.req.uri.clone(),
                headers: self.req.headers.clone(),
            });
        }
    }

    /// Charges `n` bytes the guest hands the host against this call's budget.
    pub(crate) fn charge(&mut self, n: usize) -> wasmtime::Result<()> {
        self.host_bytes_left = self.host_bytes_left.checked_sub(n).ok_or_else(|| {
            abi_err(format!(
                "more than {MAX_HOST_BYTES_PER_CALL} bytes handed to the host in one call"
            ))
        })?;
        Ok(())
    }

    /// `enable_features`: request-scoped during a call, instance-wide during `_start`.
    pub(crate) fn enable(&mut self, features: u32) -> u32 {
        self.features |= features & SUPPORTED_FEATURES;
        if !self.in_request {
            self.base_features = self.features;
        }
        self.features
    }

    /// Turns `ctx_next`'s `next` half into the decision, taking the written response.
    pub(crate) fn decide(&mut self, next: bool) -> Decision {
        if next && !self.resp.written {
            return Decision::Continue;
        }
        let resp = std::mem::take(&mut self.resp);
        Decision::Respond {
            status: resp.status.unwrap_or(200),
            headers: resp.headers,
            body: resp.body,
        }
    }
}
