//! The host's view of an HTTP request handed to a policy, and the [`Decision`] a policy call
//! returns. Plain owned data, independent of hyper, so the caller converts at the edge and the
//! guest-facing code stays free of I/O types.

use std::net::SocketAddr;

use bytes::Bytes;

/// A request as a policy sees it. The guest may change `method`, `uri` and `headers` in place;
/// on a failed call they are restored to what they were before the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Origin-form request target, `path?query`, ASCII (percent-encoded).
    pub uri: String,
    /// `HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`.
    pub version: &'static str,
    /// The client's address, as `get_source_addr` reports it.
    pub source: Option<SocketAddr>,
    /// Header fields in arrival order, names lower-case. Guest writes keep names lower-case
    /// and values free of NUL, CR, LF and other control bytes except HTAB.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, present only if the caller read it (see [`crate::Policy::wants_body`]). Guests
    /// read it with `read_body`; a body they write (`write_body(0, …)`) replaces it when the
    /// call succeeds.
    pub body: Option<Bytes>,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            method: String::new(),
            uri: String::new(),
            version: "HTTP/1.1",
            source: None,
            headers: Vec::new(),
            body: None,
        }
    }
}

impl Request {
    /// A bodiless request with no headers.
    pub fn new(method: impl Into<String>, uri: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            uri: uri.into(),
            ..Request::default()
        }
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

/// What the policy decided about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Proceed (the guest returned `next=1` and wrote no response). The request may have been
    /// modified in place: method, URI, headers. Response headers the guest set without
    /// answering are dropped: switchyard offers policies the request phase only.
    Continue,
    /// The guest answered itself (`next=0`, or it set a status code or wrote a response body).
    /// The status defaults to 200 as the ABI says. `headers` never contain `content-length` or
    /// `transfer-encoding`: the caller frames `body`.
    Respond {
        /// 100..=599.
        status: u16,
        /// Lower-case names, in the order the guest set them.
        headers: Vec<(String, Vec<u8>)>,
        /// At most [`crate::limits::MAX_HOST_BYTES_PER_CALL`] bytes.
        body: Vec<u8>,
    },
}
