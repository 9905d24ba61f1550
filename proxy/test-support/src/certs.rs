//! Certificates minted at test time (rcgen): a CA, a server certificate for `localhost`,
//! 127.0.0.1 and `*.erp.test`, and client certificates with a chosen subject CN, written as PEM files.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::{Path, PathBuf};

/// PEM files of a minted set.
pub struct Minted {
    /// CA certificate.
    pub ca: PathBuf,
    /// Server certificate chain.
    pub server_cert: PathBuf,
    /// Server key.
    pub server_key: PathBuf,
    /// Client certificate (CN given at minting).
    pub client_cert: PathBuf,
    /// Client key.
    pub client_key: PathBuf,
}

/// Mints a CA, a server cert and a client cert with subject CN `client_cn` into `dir`.
pub fn mint(dir: &Path, client_cn: &str) -> Minted {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "switchyard test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("key");
    let mut sp = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "*.erp.test".to_owned(),
    ])
    .expect("params");
    sp.distinguished_name.push(DnType::CommonName, "localhost");
    let server = sp.signed_by(&server_key, &issuer).expect("server cert");

    let client_key = KeyPair::generate().expect("key");
    let mut cp = CertificateParams::new(vec![client_cn.to_owned()]).expect("params");
    cp.distinguished_name.push(DnType::CommonName, client_cn);
    let client = cp.signed_by(&client_key, &issuer).expect("client cert");

    let write = |name: &str, pem: String| {
        let p = dir.join(name);
        std::fs::write(&p, pem).expect("write pem");
        p
    };
    Minted {
        ca: write("ca.crt", ca_cert.pem()),
        server_cert: write("server.crt", server.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
        client_cert: write("client.crt", client.pem()),
        client_key: write("client.key", client_key.serialize_pem()),
    }
}
