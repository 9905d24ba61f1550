//! Stage 3 (identify): the tenant named by the canonical host (an unknown one is refused,
//! never defaulted) and the first route that takes the request.

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
) -> Result<Identity, Reject> {
    let tenant = match cfg.tenants.by_host(&authority.host, authority.is_ip) {
        TenantMatch::Unknown(t) => return Err(Reject::UnknownTenant(t.to_owned())),
        TenantMatch::Known(i) => Some(i),
        TenantMatch::None => None,
    };
    let route =
        routing::select(&cfg.routes, &authority.host, path, method).ok_or(Reject::NoRoute)?;
    Ok(Identity { route, tenant })
}
