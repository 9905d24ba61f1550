//! Stage 3 (identify): the tenant named by the canonical host (an unknown one is refused,
//! never defaulted) and the first route that takes the request. On the TLS listener the
//! server name the client asked for must be the host it then names (else 421).

use crate::rescue::Reject;
use switchyard_core::config::tenants::TenantMatch;
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

/// Identifies tenant and route.
pub fn identify(
    cfg: &Config,
    authority: &Authority,
    path: &str,
    method: &str,
    sni: Option<&str>,
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
    let tenant = match cfg.tenants.by_host(&authority.host, authority.is_ip) {
        TenantMatch::Unknown(t) => return Err(Reject::UnknownTenant(t.to_owned())),
        TenantMatch::Known(i) => Some(i),
        TenantMatch::None => None,
    };
    let route =
        routing::select(&cfg.routes, &authority.host, path, method).ok_or(Reject::NoRoute)?;
    Ok(Identity { route, tenant })
}
