//! Stage 9's return leg: the upstream's response goes back as the upstream client produced it
//! (hop-by-hop fields and those named in `Connection` already removed). A `101 Switching
//! Protocols` keeps the upstream connection in its extensions; the HTTP/1.1 connection
//! ([`crate::h1`]) joins it to the client's byte for byte (Odoo's `/websocket`).

use crate::forward::RespBody;
use crate::upstream::UpBody;
use http::Response;
use http_body_util::Either;

/// Prepares the upstream response for the client.
pub fn from_upstream(resp: Response<UpBody>) -> Response<RespBody> {
    resp.map(Either::Left)
}
