//! Stage 3 (identify): the tenant and the first route that takes the request. Every source
//! that yields a tenant — the canonical host against the host patterns, the verified client
//! certificate (on the TLS listener, or in Traefik's `X-Forwarded-Tls-Client-Cert` from a
//! trusted proxy) and the trusted tenant header — must name the same one (else 421); a name
//! not configured is refused (404), never defaulted; IP-literal hosts name none. On the TLS
//! listener the server name the client asked for must be the host it then names (else 421).

use crate::rescue::Reject;
use crate::tls::CertSubject;
use switchyard_core::config::tenants::{CertField, TenantMatch};
use switchyard_core::config::Config;
use switchyard_core::host::Authority;
use switchyard_core::routing;

/// What identification found.
pub struct Identity {
    /// Route index.
    pub route: usize,
    /// Tenant index into `config.tenants.names`.
    pub tenant: Option<usize>,
}

/// The tenant claims that arrived beside the host, read before the trust stage strips them.
#[derive(Debug, Default)]
pub struct Claims<'a> {
    /// The verified client certificate (direct, or forwarded by a trusted proxy).
    pub cert: Option<&'a CertSubject>,
    /// The trusted tenant header's value.
    pub header: Option<&'a str>,
}

/// The claims as read from a request before the trust stage, owned.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Certificate forwarded by a trusted proxy.
    pub forwarded_cert: Option<CertSubject>,
    /// The trusted tenant header's value.
    pub header: Option<String>,
    /// `X-Openerp-Session-Id` (checked by the Odoo guard, then stripped).
    pub session_header: Option<String>,
}

/// Reads the claims a request carries that the trust stage will strip. Only a trusted proxy
/// may name a tenant by header or forward a client certificate.
pub fn gather(cfg: &Config, headers: &http::HeaderMap, trusted: bool) -> Gathered {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let t = &cfg.tenants;
    Gathered {
        forwarded_cert: (trusted
            && (t.cert.is_some()
                || cfg
                    .partners
                    .iter()
                    .any(|p| p.verifier.kind() == "client_cert")))
        .then(|| text("x-forwarded-tls-client-cert").and_then(crate::tls::forwarded_cert))
        .flatten(),
        header: t
            .header
            .as_ref()
            .filter(|_| trusted)
            .and_then(|h| headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase()),
        session_header: text("x-openerp-session-id").map(str::to_owned),
    }
}

/// The tenant a certificate names under the configured field.
fn cert_tenant(field: CertField, cert: &CertSubject) -> Option<String> {
    match field {
        CertField::Cn => cert.cn.as_deref().map(str::to_ascii_lowercase),
        CertField::SanDns => cert
            .dns
            .first()
            .and_then(|d| d.split('.').next())
            .map(str::to_ascii_lowercase),
    }
}

/// Identifies tenant and route of a request from its canonical target, the connection's
/// verified certificate (or one a trusted proxy forwarded) and the gathered claims.
pub fn from_request(
    cfg: &Config,
    target: &crate::stages::target::Target,
    method: &http::Method,
    conn: &crate::ctx::ConnInfo,
    gathered: &Gathered,
) -> Result<Identity, Reject> {
    let claims = Claims {
        cert: conn
            .client_cert
            .as_deref()
            .or(gathered.forwarded_cert.as_ref()),
        header: gathered.header.as_deref(),
    };
    identify(
        cfg,
        &target.authority,
        target.path(),
        method.as_str(),
        conn.sni.as_deref(),
        &claims,
    )
}

/// Identifies tenant and route.
pub fn identify(
    cfg: &Config,
    authority: &Authority,
    path: &str,
    method: &str,
    sni: Option<&str>,
    claims: &Claims<'_>,
) -> Result<Identity, Reject> {
    if let Some(sni) = sni {
        let sni = sni.strip_suffix('.').unwrap_or(sni);
        if !sni.eq_ignore_ascii_case(&authority.host) {
            return Err(Reject::Misdirected {
                sni: sni.to_owned(),
                host: authority.host.clone(),
            });
        }
    }
    let t = &cfg.tenants;
    let by_host = match t.by_host(&authority.host, authority.is_ip) {
        TenantMatch::Known(i) => Some(t.names[i].as_str()),
        TenantMatch::Unknown(name) => Some(name),
        TenantMatch::None => None,
    };
    let by_cert = t.cert.zip(claims.cert).and_then(|(f, c)| cert_tenant(f, c));
    let by_cert = by_cert.as_deref();
    let by_header = t.header.as_ref().and(claims.header);
    let mut named: Option<(&str, &'static str)> = None;
    for (source, name) in [
        ("host", by_host),
        ("client certificate", by_cert),
        ("tenant header", by_header),
    ] {
        let Some(name) = name else { continue };
        match named {
            Some((first, first_source)) if first != name => {
                return Err(Reject::TenantConflict(format!(
                    "the {first_source} names tenant {first:?} but the {source} names {name:?}"
                )));
            }
            _ => named = named.or(Some((name, source))),
        }
    }
    let tenant = match named {
        None => None,
        Some((name, _)) => Some(
            t.index(name)
                .ok_or_else(|| Reject::UnknownTenant(name.to_owned()))?,
        ),
    };
    let route =
        routing::select(&cfg.routes, &authority.host, path, method).ok_or(Reject::NoRoute)?;
    Ok(Identity { route, tenant })
}
