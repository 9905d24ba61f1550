//! tenant-maintenance: answer `503` with an HTML maintenance page for tenants under
//! maintenance, except for allow-listed client addresses (the people doing the work).
//!
//! The tenant of a request is read from two places, and the request is held if *either*
//! names a listed tenant:
//! - the first label of the Host (`acme.erp.example.com` → `acme`; IP literals and
//!   single-label hosts name no tenant; with `domains` set, only hosts under those domains);
//! - `X-Switchyard-Tenant` (switchyard sets it to the tenant it identified, SPEC §3 step 3).
//!
//! Taking either (rather than preferring the header) means a client cannot dodge the page by
//! sending a header naming another tenant; a spoofed header can only put the sender itself
//! behind the page.
//!
//! Config (Traefik's string scalars accepted):
//! ```yaml
//! tenants: [acme, globex]        # or "acme, globex"; "*" = every request
//! allow_from: [10.0.0.0/8, 192.0.2.7]   # client addresses that pass anyway
//! retry_after: 600               # seconds, sent as Retry-After (default 600)
//! allow_paths: [/web/health]     # path prefixes that pass anyway (health checks)
//! domains: [erp.example.com]     # optional: where tenant labels are read from the Host
//! message: We are upgrading your ERP.   # optional text on the page (HTML-escaped)
//! ```

mod page;

use switchyard_policy_sdk::net::Cidr;
use switchyard_policy_sdk::{
    respond, Config, ConfigError, Features, Policy, Reply, Request, Value, Verdict,
};

struct TenantMaintenance {
    tenants: Vec<String>,
    all: bool,
    allow_from: Vec<Cidr>,
    allow_paths: Vec<String>,
    domains: Vec<String>,
    retry_after: u64,
    message: Option<String>,
}

impl TenantMaintenance {
    /// The tenant named by the Host, if any.
    fn host_tenant(&self, host: &str) -> Option<String> {
        if host.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let (label, rest) = host.split_once('.')?;
        let under_domain = self.domains.is_empty()
            || self.domains.iter().any(|d| {
                rest == d.as_str()
                    || rest
                        .strip_suffix(d.as_str())
                        .is_some_and(|p| p.ends_with('.'))
            });
        (under_domain && !label.is_empty()).then(|| label.to_owned())
    }

    /// The listed tenant this request belongs to, if any.
    fn held_tenant(&self, req: &Request<'_>) -> Option<String> {
        let mut candidates: Vec<String> = Vec::new();
        if let Some(t) = req.host().and_then(|h| self.host_tenant(&h)) {
            candidates.push(t);
        }
        for v in req.header_values("x-switchyard-tenant") {
            let t = v.trim().to_ascii_lowercase();
            if !t.is_empty() {
                candidates.push(t);
            }
        }
        if self.all {
            return Some(candidates.into_iter().next().unwrap_or_default());
        }
        candidates
            .into_iter()
            .find(|c| self.tenants.iter().any(|t| t == c))
    }
}

impl Policy for TenantMaintenance {
    const NAME: &'static str = "tenant-maintenance";
    const FEATURES: Features = Features::NONE;

    fn from_config(config: &Value) -> Result<Self, ConfigError> {
        let c = Config::new(config)?;
        c.deny_unknown(&[
            "tenants",
            "allow_from",
            "retry_after",
            "allow_paths",
            "domains",
            "message",
        ])?;
        let tenants: Vec<String> = c
            .field("tenants")
            .strings()?
            .iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        let mut allow_from = Vec::new();
        for (i, s) in c.field("allow_from").strings()?.iter().enumerate() {
            allow_from.push(Cidr::parse(s).ok_or_else(|| ConfigError {
                path: format!("allow_from[{i}]"),
                message: format!("{s:?} is not an IP address or CIDR"),
            })?);
        }
        let allow_paths = c.field("allow_paths").strings()?;
        if let Some(p) = allow_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(c
                .field("allow_paths")
                .error(format!("{p:?} must start with /")));
        }
        let domains = c
            .field("domains")
            .strings()?
            .iter()
            .map(|d| d.trim_matches('.').to_ascii_lowercase())
            .collect();
        Ok(TenantMaintenance {
            all: tenants.iter().any(|t| t == "*"),
            tenants,
            allow_from,
            allow_paths,
            domains,
            retry_after: c.field("retry_after").u64(600)?,
            message: c.field("message").str()?.map(str::to_owned),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Verdict {
        let Some(tenant) = self.held_tenant(req) else {
            return Verdict::Continue;
        };
        let path = req.path();
        if self
            .allow_paths
            .iter()
            .any(|p| path.starts_with(p.as_str()))
        {
            return Verdict::Continue;
        }
        if let Some(ip) = req.source_ip() {
            if self.allow_from.iter().any(|net| net.contains(ip)) {
                return Verdict::Continue;
            }
        }
        let html = page::render(&tenant, self.message.as_deref(), self.retry_after);
        respond(Reply::html(503, html).header("Retry-After", &self.retry_after.to_string()))
    }
}

switchyard_policy_sdk::policy_main!(TenantMaintenance);

#[cfg(test)]
mod tests;
