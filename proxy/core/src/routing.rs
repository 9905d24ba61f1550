//! Route selection: the first route whose host, path prefix and methods match the canonical
//! request wins. Tenant identification lives with its config ([`crate::config::tenants`]).

use crate::config::Route;

/// Index of the first route that takes the request.
pub fn select(routes: &[Route], host: &str, path: &str, method: &str) -> Option<usize> {
    routes.iter().position(|r| r.matches(host, path, method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HostMatch, PoolId};

    fn route(name: &str, host: HostMatch, prefix: &str) -> Route {
        Route {
            name: name.into(),
            host,
            path_prefix: prefix.into(),
            methods: None,
            stable: PoolId(0),
            canary: None,
            webhooks: false,
            policies: Vec::new(),
        }
    }

    #[test]
    fn first_match_wins() {
        let routes = vec![
            route("hooks", HostMatch::Any, "/hooks/"),
            route("erp", HostMatch::Suffix(".erp.example.com".into()), "/"),
            route("exact", HostMatch::Exact("status.example.com".into()), "/"),
        ];
        let cases = [
            ("acme.erp.example.com", "/hooks/dhl/1", Some(0)),
            ("acme.erp.example.com", "/web", Some(1)),
            ("erp.example.com", "/web", None),
            ("status.example.com", "/", Some(2)),
            ("other.example.com", "/", None),
            ("x.example.com", "/hooks", None),
        ];
        for (host, path, want) in cases {
            assert_eq!(select(&routes, host, path, "GET"), want, "{host}{path}");
        }
    }
}
