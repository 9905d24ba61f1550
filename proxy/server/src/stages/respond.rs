//! Stage 9's return leg: the upstream's response goes back without hop-by-hop fields, and a
//! `101 Switching Protocols` joins the client and upstream connections byte for byte (Odoo's
//! `/websocket`).

use crate::ctx::ConnInfo;
use crate::forward::RespBody;
use crate::upstream::{UpBody, UpstreamUpgrade};
use http::{Response, StatusCode};
use http_body_util::Either;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

/// Prepares the upstream response for the client; `client_upgrade` is the pending upgrade of
/// the client connection when the request asked for one.
/// (The upstream client already removed hop-by-hop fields and those named in `Connection`.)
pub fn from_upstream(
    conn: &ConnInfo,
    mut resp: Response<UpBody>,
    client_upgrade: Option<OnUpgrade>,
) -> Response<RespBody> {
    let upstream = resp
        .extensions_mut()
        .remove::<UpstreamUpgrade>()
        .and_then(|u| u.take());
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        // Not switched: hyper still holds the prepared upgrade and, when the connection ends,
        // hands the socket to it instead of shutting down. Keep the handle so the connection
        // driver gets the socket back and can close it properly (and answer a refused head).
        if let (Some(on), Ok(mut slot)) = (client_upgrade, conn.unswitched.lock()) {
            *slot = Some(on);
        }
    } else {
        if let (Some(client), Some((mut up, early))) = (client_upgrade, upstream) {
            let permit = conn.permit.lock().ok().and_then(|mut p| p.take());
            tokio::spawn(async move {
                let _slot = permit;
                if let Ok(c) = client.await {
                    let mut c = TokioIo::new(c);
                    if !early.is_empty() && c.write_all(&early).await.is_err() {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut up).await;
                }
            });
        }
    }
    resp.map(Either::Left)
}
