//! Data-plane listeners. Each worker is a thread with a single-threaded tokio runtime and its
//! own SO_REUSEPORT socket (thread-per-core: no cross-thread hand-off on the hot path). A
//! connection passes the max-connections gate, TLS (optional) and protocol detection, and is
//! then served — HTTP/1.1 by switchyard's own connection loop ([`crate::h1`]), HTTP/2 by
//! hyper — with the pipeline handling each request. On shutdown a worker stops accepting,
//! lets every connection finish its request in flight, and waits up to the grace period.

use crate::body::ClientBody;
use crate::ctx::ConnInfo;
use crate::h1;
use crate::h1::{Limits, OnReject};
use crate::live::Shared;
use crate::pipeline::{self, Worker};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use socket2::{Domain, Protocol, Socket, Type};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::http1::HeadLimits;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// Bound data-plane addresses.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Plain listener.
    pub plain: SocketAddr,
    /// TLS listener.
    pub tls: Option<SocketAddr>,
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(4096)?;
    Ok(s.into())
}

/// Binds `workers` sockets on one address (port 0 resolves once, then all share it).
fn bind_all(addr: SocketAddr, workers: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let first = bind(addr)?;
    let actual = first.local_addr()?;
    let mut v = vec![first];
    for _ in 1..workers {
        v.push(bind(actual)?);
    }
    Ok(v)
}

/// Binds the listeners and starts the worker threads; they run until `shutdown` turns true.
pub fn start(
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
) -> Result<(Bound, Vec<std::thread::JoinHandle<()>>), String> {
    let snap = shared.live.load();
    let server = &snap.config.server;
    let plain = bind_all(server.listen, shared.workers)
        .map_err(|e| format!("server.listen {}: {e}", server.listen))?;
    let tls = match &server.tls {
        Some(t) => {
            let cfg = crate::tls::server_config(t)?;
            let socks = bind_all(t.listen, shared.workers)
                .map_err(|e| format!("server.tls.listen {}: {e}", t.listen))?;
            Some((TlsAcceptor::from(cfg), socks))
        }
        None => None,
    };
    let bound = Bound {
        plain: plain[0].local_addr().map_err(|e| e.to_string())?,
        tls: tls.as_ref().and_then(|(_, s)| s[0].local_addr().ok()),
    };
    let permits = Arc::new(Semaphore::new(server.limits.max_connections));
    let (acceptor, mut tls_socks) = match tls {
        Some((a, s)) => (Some(a), s.into_iter().map(Some).collect()),
        None => (None, (0..shared.workers).map(|_| None).collect::<Vec<_>>()),
    };
    let mut threads = Vec::new();
    for (index, sock) in plain.into_iter().enumerate() {
        let worker = Arc::new(Worker {
            shared: shared.clone(),
            index,
        });
        let tls_sock = tls_socks[index].take();
        let (acceptor, permits, shutdown) = (acceptor.clone(), permits.clone(), shutdown.clone());
        let t = std::thread::Builder::new()
            .name(format!("switchyard-worker-{index}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => return eprintln!("worker {index}: cannot start runtime: {e}"),
                };
                rt.block_on(run_worker(
                    worker,
                    sock,
                    tls_sock.zip(acceptor),
                    permits,
                    shutdown,
                ));
            })
            .map_err(|e| e.to_string())?;
        threads.push(t);
    }
    Ok((bound, threads))
}

async fn run_worker(
    worker: Arc<Worker>,
    plain: std::net::TcpListener,
    tls: Option<(std::net::TcpListener, TlsAcceptor)>,
    permits: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(plain) = TcpListener::from_std(plain) else {
        return;
    };
    let tls = tls.and_then(|(s, a)| TcpListener::from_std(s).ok().map(|l| (l, a)));
    let mut conns = JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            r = plain.accept() => r.map(|(s, p)| (s, p, None)),
            r = accept_tls(&tls) => r,
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, peer, acceptor) = match accepted {
            Ok(a) => a,
            Err(_) => {
                // Out of descriptors or similar: back off instead of spinning on accept.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (w, sd) = (worker.clone(), shutdown.clone());
        conns.spawn(serve(w, stream, peer, acceptor, sd, permit));
    }
    let grace = worker.shared.live.load().config.server.shutdown_grace;
    let _ = tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}

async fn accept_tls(
    tls: &Option<(TcpListener, TlsAcceptor)>,
) -> std::io::Result<(TcpStream, SocketAddr, Option<TlsAcceptor>)> {
    match tls {
        Some((l, a)) => l.accept().await.map(|(s, p)| (s, p, Some(a.clone()))),
        None => std::future::pending().await,
    }
}

fn limits(shared: &Shared) -> Limits {
    let l = shared.live.load().config.server.limits;
    Limits {
        head: HeadLimits {
            max_head: l.max_header_bytes,
            max_uri: l.max_uri_bytes,
            max_fields: 100,
        },
        header_timeout: l.header_timeout,
        idle_timeout: l.idle_timeout,
    }
}

async fn serve(
    w: Arc<Worker>,
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let shared = w.shared.clone();
    let trusted = shared.live.load().config.server.is_trusted(peer.ip());
    let lim = limits(&shared);
    let on_reject: OnReject = {
        let s = shared.clone();
        Arc::new(move |r, id| pipeline::observe_gate_reject(&s, r, id))
    };
    let Some(acceptor) = acceptor else {
        let info = Arc::new(ConnInfo {
            peer,
            tls: false,
            trusted,
            peer_ip: peer_ip(&peer),
            client_cert: None,
            sni: None,
            permit,
        });
        // Prior-knowledge h2c starts with the HTTP/2 preface; anything else is HTTP/1.1.
        let Some((io, h2)) = crate::preface::detect(stream, lim.header_timeout).await else {
            return;
        };
        return drive(w, Box::new(io), h2, info, lim, on_reject, shutdown).await;
    };
    let Ok(Ok(tls)) = tokio::time::timeout(lim.header_timeout, acceptor.accept(stream)).await
    else {
        return;
    };
    let (_, session) = tls.get_ref();
    let h2 = session.alpn_protocol() == Some(b"h2");
    let client_cert = session
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| crate::tls::subject(c.as_ref()))
        .map(Arc::new);
    let sni = session.server_name().map(Arc::from);
    let info = Arc::new(ConnInfo {
        peer,
        tls: true,
        trusted,
        peer_ip: peer_ip(&peer),
        client_cert,
        sni,
        permit,
    });
    drive(w, Box::new(tls), h2, info, lim, on_reject, shutdown).await;
}

fn peer_ip(peer: &SocketAddr) -> http::HeaderValue {
    http::HeaderValue::from_str(&peer.ip().to_string())
        .unwrap_or_else(|_| http::HeaderValue::from_static("unknown"))
}

/// Serves a connection: HTTP/2 with hyper, HTTP/1.1 with switchyard's own server.
async fn drive(
    w: Arc<Worker>,
    io: Box<dyn h1::Stream>,
    h2: bool,
    info: Arc<ConnInfo>,
    lim: Limits,
    on_reject: OnReject,
    mut shutdown: watch::Receiver<bool>,
) {
    let label = if info.tls { "tls" } else { "plain" };
    let gauge = w.shared.metrics.connections.with_label_values(&[label]);
    gauge.inc();
    if h2 {
        let svc = {
            let (w, info) = (w.clone(), info.clone());
            service_fn(move |req: http::Request<hyper::body::Incoming>| {
                pipeline::handle(w.clone(), info.clone(), req.map(ClientBody::H2))
            })
        };
        // Pings find dead peers; an h2 connection is otherwise kept while the peer answers.
        let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(hyper_util::rt::TokioTimer::new())
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(20))
            .serve_connection(TokioIo::new(io), svc);
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => {}
            _ = shutdown.changed() => { conn.as_mut().graceful_shutdown(); let _ = conn.await; }
        }
    } else {
        h1::serve(io, w, info, lim, on_reject, shutdown).await;
    }
    gauge.dec();
}

/// Polls `addr` until it accepts a TCP connection or the deadline passes.
pub async fn wait_listening(addr: SocketAddr, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
