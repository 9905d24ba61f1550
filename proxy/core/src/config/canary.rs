//! `routes[].canary:` — how a route splits traffic between its stable and canary pools: the
//! weight, the sticky key, pilot and excluded tenants, the tester override, the guard that
//! rolls back on its own and the ramp. Compiled into [`Canary`] on the route; the weight in
//! force at run time is this value or a runtime override (see the server's `canary` module).

use super::server::{cidrs, duration};
use super::tenants::Tenants;
use super::Errors;
use crate::canary::{GuardSettings, RampPlan, Weight};
use ipnet::IpNet;
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::IpAddr;
use std::time::Duration;

/// `canary:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    /// Percent of traffic on canary, 0..100 with at most two decimals (default 0).
    #[serde(default)]
    pub weight: f64,
    /// `tenant` (default) | `cookie` | `header:<name>` | `client_ip`.
    pub sticky: Option<String>,
    /// Cookie holding the bucket in `sticky: cookie` mode (default `switchyard_canary`).
    pub cookie: Option<String>,
    /// Tenants always on canary while the weight is above 0.
    #[serde(default)]
    pub pilot_tenants: Vec<String>,
    /// Tenants never on canary.
    #[serde(default)]
    pub excluded_tenants: Vec<String>,
    /// Tester override header, honoured only from `from`.
    #[serde(rename = "override")]
    pub forced: Option<OverrideSpec>,
    /// Automatic rollback.
    pub guard: Option<GuardSpec>,
    /// Stepwise weight increase.
    pub ramp: Option<RampSpec>,
}

/// `override:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    /// Header carrying `always` or `never`.
    pub header: String,
    /// CIDRs of the callers whose header counts (the client address after trusted proxies).
    pub from: Vec<String>,
}

/// `guard:` as written.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// Sliding window (default 60s).
    pub window: Option<String>,
    /// Requests each variant needs in the window before the guard judges (default 50).
    pub min_requests: Option<u32>,
    /// Highest canary 5xx rate, 0..1 (default 0.05).
    pub max_error_rate: Option<f64>,
    /// Highest canary p99 / stable p99 (default 2.0).
    pub max_p99_ratio: Option<f64>,
}

/// `ramp:` as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RampSpec {
    /// Weights in percent, ascending.
    pub steps: Vec<f64>,
    /// Time between steps.
    pub every: String,
}

/// What a request's sticky key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sticky {
    /// The tenant (whole tenant cohorts); requests without a tenant use the client address.
    Tenant,
    /// A random bucket kept in a cookie (the bucket, never the variant).
    Cookie,
    /// A request header's value (lower-case name); without it, the client address.
    Header(http::HeaderName),
    /// The client address (after trusted proxies).
    ClientIp,
}

/// A compiled tester override.
#[derive(Debug, Clone)]
pub struct OverrideRule {
    /// Header name.
    pub header: http::HeaderName,
    /// Trusted sources.
    pub from: Vec<IpNet>,
}

impl OverrideRule {
    /// True when a request from `client` may use the header.
    pub fn trusts(&self, client: IpAddr) -> bool {
        self.from.iter().any(|n| n.contains(&client))
    }
}

/// A route's compiled canary settings.
#[derive(Debug, Clone)]
pub struct Canary {
    /// The configured weight (runtime overrides may replace it).
    pub weight: Weight,
    /// Sticky key.
    pub sticky: Sticky,
    /// Cookie name in cookie mode.
    pub cookie: String,
    /// Pilot tenants (indexes into `tenants.names`), sorted.
    pub pilot: Vec<usize>,
    /// Excluded tenants (indexes), sorted.
    pub excluded: Vec<usize>,
    /// Tester override.
    pub forced: Option<OverrideRule>,
    /// Guard.
    pub guard: Option<GuardSettings>,
    /// Ramp.
    pub ramp: Option<RampPlan>,
}

fn weight(p: f64, path: &str, errs: &mut Errors) -> Weight {
    Weight::from_percent(p).unwrap_or_else(|m| {
        errs.at(path, m);
        Weight::ZERO
    })
}

fn sticky(raw: Option<&str>, path: &str, errs: &mut Errors) -> Sticky {
    match raw.unwrap_or("tenant") {
        "tenant" => Sticky::Tenant,
        "cookie" => Sticky::Cookie,
        "client_ip" => Sticky::ClientIp,
        other => match other
            .strip_prefix("header:")
            .map(http::HeaderName::try_from)
        {
            Some(Ok(h)) => Sticky::Header(h),
            _ => {
                errs.at(path, format!("invalid sticky key {other:?} (expected tenant, cookie, header:<name> or client_ip)"));
                Sticky::Tenant
            }
        },
    }
}

fn tenant_list(names: &[String], tenants: &Tenants, path: &str, errs: &mut Errors) -> Vec<usize> {
    let mut v: Vec<usize> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let found = tenants.index(n);
            if found.is_none() {
                errs.at(format!("{path}[{i}]"), format!("unknown tenant {n:?}"));
            }
            found
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn guard(g: &GuardSpec, path: &str, errs: &mut Errors) -> GuardSettings {
    let s = GuardSettings {
        window: duration(
            &g.window,
            Duration::from_secs(60),
            &format!("{path}.window"),
            errs,
        ),
        min_requests: g.min_requests.unwrap_or(50),
        max_error_rate: g.max_error_rate.unwrap_or(0.05),
        max_p99_ratio: g.max_p99_ratio.unwrap_or(2.0),
    };
    if s.window < Duration::from_secs(1) {
        errs.at(format!("{path}.window"), "must be at least 1s");
    }
    if s.min_requests == 0 {
        errs.at(format!("{path}.min_requests"), "must be at least 1");
    }
    if !(0.0..=1.0).contains(&s.max_error_rate) {
        errs.at(format!("{path}.max_error_rate"), "must be between 0 and 1");
    }
    if !s.max_p99_ratio.is_finite() || s.max_p99_ratio < 1.0 {
        errs.at(format!("{path}.max_p99_ratio"), "must be at least 1.0");
    }
    s
}

fn ramp(r: &RampSpec, path: &str, errs: &mut Errors) -> RampPlan {
    let steps: Vec<Weight> = r
        .steps
        .iter()
        .enumerate()
        .map(|(i, p)| weight(*p, &format!("{path}.steps[{i}]"), errs))
        .collect();
    if steps.is_empty() {
        errs.at(format!("{path}.steps"), "needs at least one step");
    }
    if steps.windows(2).any(|w| w[0] >= w[1]) || steps.first() == Some(&Weight::ZERO) {
        errs.at(
            format!("{path}.steps"),
            "steps must rise strictly and start above 0",
        );
    }
    let every = duration(
        &Some(r.every.clone()),
        Duration::from_secs(60),
        &format!("{path}.every"),
        errs,
    );
    if every < Duration::from_millis(100) {
        errs.at(format!("{path}.every"), "must be at least 100ms");
    }
    RampPlan { steps, every }
}

/// Compiles one route's `canary:` (at config path `path`).
pub fn compile(spec: &CanarySpec, tenants: &Tenants, path: &str, errs: &mut Errors) -> Canary {
    let pilot = tenant_list(
        &spec.pilot_tenants,
        tenants,
        &format!("{path}.pilot_tenants"),
        errs,
    );
    let excluded = tenant_list(
        &spec.excluded_tenants,
        tenants,
        &format!("{path}.excluded_tenants"),
        errs,
    );
    if let Some(t) = pilot.iter().find(|t| excluded.contains(t)) {
        errs.at(
            format!("{path}.excluded_tenants"),
            format!("tenant {:?} is both pilot and excluded", tenants.names[*t]),
        );
    }
    let cookie = spec
        .cookie
        .clone()
        .unwrap_or_else(|| "switchyard_canary".into());
    if cookie.is_empty()
        || !cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        errs.at(
            format!("{path}.cookie"),
            format!("invalid cookie name {cookie:?}"),
        );
    }
    let forced = spec.forced.as_ref().map(|o| OverrideRule {
        header: http::HeaderName::try_from(o.header.as_str()).unwrap_or_else(|_| {
            errs.at(
                format!("{path}.override.header"),
                format!("invalid header name {:?}", o.header),
            );
            http::HeaderName::from_static("x-canary")
        }),
        from: cidrs(&o.from, &format!("{path}.override.from"), errs),
    });
    Canary {
        weight: weight(spec.weight, &format!("{path}.weight"), errs),
        sticky: sticky(spec.sticky.as_deref(), &format!("{path}.sticky"), errs),
        cookie,
        pilot,
        excluded,
        forced,
        guard: spec
            .guard
            .as_ref()
            .map(|g| guard(g, &format!("{path}.guard"), errs)),
        ramp: spec
            .ramp
            .as_ref()
            .map(|r| ramp(r, &format!("{path}.ramp"), errs)),
    }
}
