//! The TLS listener with certificates minted at test time: HTTPS is served and forwarded with
//! `X-Forwarded-Proto: https`; with `client_ca` + `require_client_cert`, a client without a
//! certificate from that CA is refused in the handshake.

use crate::common;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::Write;
use std::sync::Arc;
use switchyard_test_support::certs::mint;
use switchyard_test_support::client::read_response;
use switchyard_test_support::proxy::TestProxy;
use switchyard_test_support::upstream::RecordingUpstream;

fn client_config(
    ca: &std::path::Path,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(c.expect("cert")).expect("add");
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let cfg = match identity {
        Some((cert, key)) => {
            let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
                .expect("cert")
                .map(|c| c.expect("c"))
                .collect();
            b.with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key).expect("key"))
                .expect("client auth")
        }
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

fn https_get(addr: std::net::SocketAddr, cfg: Arc<rustls::ClientConfig>) -> std::io::Result<u16> {
    https_get_sni(addr, cfg, "acme.erp.test")
}

fn https_get_sni(
    addr: std::net::SocketAddr,
    cfg: Arc<rustls::ClientConfig>,
    sni: &str,
) -> std::io::Result<u16> {
    let name = ServerName::try_from(sni.to_owned()).expect("name");
    let conn = rustls::ClientConnection::new(cfg, name).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, switchyard_test_support::client::connect(addr));
    tls.write_all(b"GET /secure HTTP/1.1\r\nHost: acme.erp.test\r\nConnection: close\r\n\r\n")?;
    Ok(read_response(&mut tls, false).status)
}

#[test]
fn tls_listener_with_required_client_certificates() {
    common::env();
    let dir = tempfile::tempdir().expect("tmp");
    let m = mint(dir.path(), "edi-gw.partner.example");
    let up = RecordingUpstream::start();
    let tls = format!(
        "  tls: {{ listen: 127.0.0.1:0, cert: {}, key: {}, client_ca: {}, require_client_cert: true }}",
        m.server_cert.display(),
        m.server_key.display(),
        m.ca.display()
    );
    let p = TestProxy::start(&common::config(&up, &tls));
    let addr = p.tls_addr.expect("tls listener");
    let with_cert = client_config(&m.ca, Some((&m.client_cert, &m.client_key)));
    assert_eq!(https_get(addr, with_cert).expect("https"), 200);
    let r = &up.requests()[0];
    assert_eq!(r.header("x-forwarded-proto"), ["https"]);
    assert_eq!(r.request_line(), "GET /secure HTTP/1.1");
    // The server name asked for in the handshake must be the host then named (else 421).
    let other = client_config(&m.ca, Some((&m.client_cert, &m.client_key)));
    assert_eq!(
        https_get_sni(addr, other, "globex.erp.test").expect("https"),
        421
    );
    assert_eq!(up.requests().len(), 1);
    let without = client_config(&m.ca, None);
    assert!(
        https_get(addr, without).map(|s| s == 0).unwrap_or(true),
        "a client without a certificate was served"
    );
    assert_eq!(up.requests().len(), 1);
}
