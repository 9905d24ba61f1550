//! The data each wasmtime `Store` carries: the request lent to the guest for one call (swapped
//! in and out, never copied), the journal that lets a failed call's changes be undone, the
//! response the guest is writing, enabled features, the limiter and per-call budgets. Host functions in [`crate::abi`] act on it; [`crate::pool`] begins and ends calls.

use std::sync::Arc;

use wasmtime::Memory;

use crate::error::abi_err;
use crate::limits::{Limiter, MAX_HOST_BYTES_PER_CALL, MAX_LOGS_PER_CALL};
use crate::log::LogSink;
use crate::request::{Decision, Request};
use crate::undo::{HeaderEdit, Journal};

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
    /// A request body the guest wrote (`write_body(0, …)`): replaces the body on success.
    pub(crate) req_body_out: Option<Vec<u8>>,
    /// Features in force now: the instance's (enabled during `_start`) plus this request's.
    pub(crate) features: u32,
    pub(crate) base_features: u32,
    pub(crate) in_request: bool,
    pub(crate) logs_left: u32,
    host_bytes_left: usize,
    pub(crate) journal: Journal,
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
            req_body_out: None,
            features: 0,
            base_features: 0,
            in_request: false,
            logs_left: MAX_LOGS_PER_CALL,
            host_bytes_left: MAX_HOST_BYTES_PER_CALL,
            journal: Journal::default(),
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
        let written = self.req_body_out.take();
        if ok {
            if let Some(b) = written {
                req.body = Some(bytes::Bytes::from(b));
            }
            self.journal.commit();
        } else {
            self.journal.rollback(req);
        }
        self.req = Request::default();
        self.resp = Response::default();
        self.body_pos = 0;
        self.features = self.base_features;
        self.in_request = false;
        self.logs_left = MAX_LOGS_PER_CALL;
        self.host_bytes_left = MAX_HOST_BYTES_PER_CALL;
    }

    /// The header fields of `kind` for editing: the request's (0, journaled) or the response's
    /// (1); the trailer kinds (2, 3) are not supported and trap.
    pub(crate) fn headers_mut(&mut self, kind: i32) -> wasmtime::Result<HeaderEdit<'_>> {
        match kind {
            0 => Ok(HeaderEdit {
                fields: &mut self.req.headers,
                journal: Some(&mut self.journal),
            }),
            1 => Ok(HeaderEdit {
                fields: &mut self.resp.headers,
                journal: None,
            }),
            2 | 3 => Err(abi_err("trailers are not supported")),
            _ => Err(abi_err(format!("unknown header kind {kind}"))),
        }
    }

    /// Sets the method (journaled).
    pub(crate) fn set_method(&mut self, method: String) {
        self.journal.set_method(&mut self.req, method);
    }

    /// Sets the URI (journaled).
    pub(crate) fn set_uri(&mut self, uri: String) {
        self.journal.set_uri(&mut self.req, uri);
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
