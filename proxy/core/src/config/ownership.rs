//! Owned pools (`pools.<name>.tenants`): only their owners' requests may ever land there,
//! whatever headers, policies or canary settings say. The config is refused when a mapping
//! could break that: a route naming an owned pool (routes serve every tenant they match), or
//! a tenant's `upstream` naming a pool another tenant owns. The data plane checks again
//! before forwarding ([`super::Pool::admits`]).

use super::{Errors, Pool, PoolId, Route, Tenants};

fn owners(pools: &[Pool], tenants: &Tenants, id: PoolId) -> Vec<String> {
    pools[id.0]
        .owners
        .iter()
        .map(|t| tenants.names[*t].clone())
        .collect()
}

/// Checks every route and tenant mapping against pool ownership.
pub fn check(pools: &[Pool], tenants: &Tenants, routes: &[Route], errs: &mut Errors) {
    if pools.is_empty() {
        return;
    }
    for (i, r) in routes.iter().enumerate() {
        let refs = [
            Some((r.stable, "stable")),
            r.canary.as_ref().map(|(p, _)| (*p, "canary")),
        ];
        for (id, field) in refs.into_iter().flatten() {
            if id.0 < pools.len() && !pools[id.0].owners.is_empty() {
                errs.at(
                    format!("routes[{i}].upstream.{field}"),
                    format!(
                        "pool {:?} is owned by tenants {:?}; a route serves every tenant it matches, so name it in tenants.list.<tenant>.upstream instead",
                        pools[id.0].name,
                        owners(pools, tenants, id)
                    ),
                );
            }
        }
    }
    for (t, tenant) in tenants.list.iter().enumerate() {
        let Some((stable, canary)) = tenant.upstream else {
            continue;
        };
        for (id, field) in [Some((stable, "stable")), canary.map(|c| (c, "canary"))]
            .into_iter()
            .flatten()
        {
            if id.0 < pools.len() && !pools[id.0].admits(Some(t)) {
                errs.at(
                    format!("tenants.list.{}.upstream.{field}", tenants.names[t]),
                    format!(
                        "pool {:?} is owned by tenants {:?}",
                        pools[id.0].name,
                        owners(pools, tenants, id)
                    ),
                );
            }
        }
    }
}
