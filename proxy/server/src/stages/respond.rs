//! Stage 9's return leg: the upstream's response goes back without hop-by-hop fields, and a
//! `101 Switching Protocols` joins the client and upstream connections byte for byte (Odoo's
//! `/websocket`).

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
    mut resp: Response<UpBody>,
    client_upgrade: Option<OnUpgrade>,
) -> Response<RespBody> {
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upstream = resp
            .extensions_mut()
            .remove::<UpstreamUpgrade>()
            .and_then(|u| u.take());
        if let (Some(client), Some((mut up, early))) = (client_upgrade, upstream) {
            tokio::spawn(async move {
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
