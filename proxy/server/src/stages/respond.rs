//! Stage 9's return leg: the upstream's response goes back without hop-by-hop fields, and a
//! `101 Switching Protocols` joins the client and upstream connections byte for byte (Odoo's
//! `/websocket`).

use crate::forward::RespBody;
use http::header::{CONNECTION, UPGRADE};
use http::{HeaderName, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use switchyard_core::hygiene::HOP_BY_HOP;

/// Prepares the upstream response for the client; `client_upgrade` is the pending upgrade of
/// the client connection when the request asked for one.
pub fn from_upstream(mut resp: Response<Incoming>, client_upgrade: Option<OnUpgrade>) -> Response<RespBody> {
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    let listed: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(',').filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok()).collect::<Vec<_>>())
        .collect();
    for n in listed {
        if !(switching && n == UPGRADE) {
            headers.remove(n);
        }
    }
    for h in HOP_BY_HOP {
        if switching && (*h == "upgrade" || *h == "connection") {
            continue;
        }
        headers.remove(*h);
    }
    if switching {
        if let Some(client) = client_upgrade {
            let upstream = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(c), Ok(u)) = (client.await, upstream.await) {
                    let (mut c, mut u) = (TokioIo::new(c), TokioIo::new(u));
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut u).await;
                }
            });
        }
    }
    resp.map(Either::Left)
}
