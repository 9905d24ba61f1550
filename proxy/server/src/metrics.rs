//! Prometheus metrics (SPEC §8 names), one registry per proxy instance. Labels come only
//! from config names (route, tenant, pool, endpoint) and small fixed sets, never from raw
//! paths or header values.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use switchyard_core::canary::Variant;

/// The proxy's metric families.
pub struct Metrics {
    registry: Registry,
    /// `switchyard_requests_total{route,tenant,variant,code_class,decision}`.
    pub requests: IntCounterVec,
    /// `switchyard_request_duration_seconds{route}` (to the response head).
    pub duration: HistogramVec,
    /// `switchyard_upstream_health{pool,endpoint}`.
    pub upstream_health: IntGaugeVec,
    /// `switchyard_upstream_attempts_total{pool,result}`: requests retried on another endpoint
    /// (`retried`) or failed at the upstream (`failed`).
    pub upstream_attempts: IntCounterVec,
    /// `switchyard_config_reloads_total{result}`.
    pub reloads: IntCounterVec,
    /// `switchyard_config_info{version,hash}`.
    pub config_info: IntGaugeVec,
    /// `switchyard_connections_open{listener}`.
    pub connections: IntGaugeVec,
    /// `switchyard_canary_weight{route}` (percent in force).
    pub canary_weight: GaugeVec,
    /// `switchyard_canary_rollbacks_total{route,cause}` (`manual`, `error_rate`, `latency`).
    pub canary_rollbacks: IntCounterVec,
    /// `switchyard_freeze_active{window}` (1 while the window's occurrence is in force).
    pub freeze_active: IntGaugeVec,
    /// `switchyard_freeze_refusals_total{kind}` (`canary`, `reload`, `request`).
    pub freeze_refusals: IntCounterVec,
    /// `switchyard_break_glass_active` (exemptions in force).
    pub break_glass_active: prometheus::IntGauge,
    /// `switchyard_config_reload_held` (1 while a reload is held by a freeze).
    pub reload_held: prometheus::IntGauge,
    /// `switchyard_tenant_in_flight{tenant}`.
    pub tenant_in_flight: IntGaugeVec,
    /// `switchyard_ratelimit_decisions_total{scope,key,result}`.
    pub ratelimit: IntCounterVec,
    /// `switchyard_admission_rejections_total{tenant,reason}` (`queue_full`, `timeout`,
    /// `owned_pool`).
    pub admission_rejections: IntCounterVec,
    /// `switchyard_webhook_verifications_total{partner,result}`.
    pub webhook_verifications: IntCounterVec,
    /// `switchyard_spool_depth{partner}`.
    pub spool_depth: IntGaugeVec,
    /// `switchyard_spool_oldest_age_seconds{partner}`.
    pub spool_oldest_age: prometheus::GaugeVec,
    /// `switchyard_spool_delivery_attempts_total{partner,result}` (`delivered`, `retry`, `dead`).
    pub spool_deliveries: IntCounterVec,
    /// `switchyard_policy_duration_seconds{policy}`.
    pub policy_duration: HistogramVec,
    /// `switchyard_policy_errors_total{policy,kind}`.
    pub policy_errors: IntCounterVec,
    /// `switchyard_policy_shadow_disagreements_total{policy}`.
    pub policy_shadow: IntCounterVec,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // Metric definitions are static; a failure here is a programming error caught by tests.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    /// Registers every family.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = must(IntCounterVec::new(
            Opts::new(
                "switchyard_requests_total",
                "Requests by route, tenant, variant, status class and decision.",
            ),
            &["route", "tenant", "variant", "code_class", "decision"],
        ));
        let duration = must(HistogramVec::new(
            HistogramOpts::new(
                "switchyard_request_duration_seconds",
                "Time from request head to response head.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 120.0,
            ]),
            &["route"],
        ));
        let upstream_health = must(IntGaugeVec::new(
            Opts::new(
                "switchyard_upstream_health",
                "1 when the endpoint is healthy.",
            ),
            &["pool", "endpoint"],
        ));
        let upstream_attempts = must(IntCounterVec::new(
            Opts::new(
                "switchyard_upstream_attempts_total",
                "Upstream retries and failures by pool.",
            ),
            &["pool", "result"],
        ));
        let reloads = must(IntCounterVec::new(
            Opts::new(
                "switchyard_config_reloads_total",
                "Config reloads by result.",
            ),
            &["result"],
        ));
        let config_info = must(IntGaugeVec::new(
            Opts::new("switchyard_config_info", "The config version being served."),
            &["version", "hash"],
        ));
        let connections = must(IntGaugeVec::new(
            Opts::new(
                "switchyard_connections_open",
                "Open data-plane connections.",
            ),
            &["listener"],
        ));
        let canary_weight = must(GaugeVec::new(
            Opts::new(
                "switchyard_canary_weight",
                "Canary weight in force, percent.",
            ),
            &["route"],
        ));
        let canary_rollbacks = must(IntCounterVec::new(
            Opts::new(
                "switchyard_canary_rollbacks_total",
                "Canary rollbacks by route and cause (manual or the guard's breach cause).",
            ),
            &["route", "cause"],
        ));
        let freeze_active = must(IntGaugeVec::new(
            Opts::new(
                "switchyard_freeze_active",
                "1 while the freeze window is in force.",
            ),
            &["window"],
        ));
        let freeze_refusals = must(IntCounterVec::new(
            Opts::new(
                "switchyard_freeze_refusals_total",
                "Risk-increasing changes and blocked requests refused by a freeze.",
            ),
            &["kind"],
        ));
        let break_glass_active = must(prometheus::IntGauge::new(
            "switchyard_break_glass_active",
            "Break-glass exemptions in force.",
        ));
        let reload_held = must(prometheus::IntGauge::new(
            "switchyard_config_reload_held",
            "1 while a config reload is held by a freeze.",
        ));
        let tenant_in_flight = must(IntGaugeVec::new(
            Opts::new(
                "switchyard_tenant_in_flight",
                "Requests in flight per tenant (until the response head).",
            ),
            &["tenant"],
        ));
        let ratelimit = must(IntCounterVec::new(
            Opts::new(
                "switchyard_ratelimit_decisions_total",
                "Rate-limit decisions by scope, key and result.",
            ),
            &["scope", "key", "result"],
        ));
        let admission_rejections = must(IntCounterVec::new(
            Opts::new(
                "switchyard_admission_rejections_total",
                "Requests refused by the concurrency bulkhead or pool ownership.",
            ),
            &["tenant", "reason"],
        ));
        let webhook_verifications = must(IntCounterVec::new(
            Opts::new(
                "switchyard_webhook_verifications_total",
                "Partner webhooks by verification result.",
            ),
            &["partner", "result"],
        ));
        let spool_depth = must(IntGaugeVec::new(
            Opts::new("switchyard_spool_depth", "Webhooks waiting in the spool."),
            &["partner"],
        ));
        let spool_oldest_age = must(GaugeVec::new(
            Opts::new(
                "switchyard_spool_oldest_age_seconds",
                "Age of the oldest spooled webhook.",
            ),
            &["partner"],
        ));
        let spool_deliveries = must(IntCounterVec::new(
            Opts::new(
                "switchyard_spool_delivery_attempts_total",
                "Spool delivery attempts by result.",
            ),
            &["partner", "result"],
        ));
        let policy_duration = must(HistogramVec::new(
            HistogramOpts::new(
                "switchyard_policy_duration_seconds",
                "Time in a WASM policy call.",
            )
            .buckets(vec![
                0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_5,
                0.001, 0.005, 0.025,
            ]),
            &["policy"],
        ));
        let policy_errors = must(IntCounterVec::new(
            Opts::new(
                "switchyard_policy_errors_total",
                "WASM policy failures by kind (trap, timeout, memory, pool_refused, …).",
            ),
            &["policy", "kind"],
        ));
        let policy_shadow = must(IntCounterVec::new(
            Opts::new(
                "switchyard_policy_shadow_disagreements_total",
                "Requests a shadow policy would have decided differently.",
            ),
            &["policy"],
        ));
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(upstream_health.clone()),
            Box::new(upstream_attempts.clone()),
            Box::new(reloads.clone()),
            Box::new(config_info.clone()),
            Box::new(connections.clone()),
            Box::new(canary_weight.clone()),
            Box::new(canary_rollbacks.clone()),
            Box::new(freeze_active.clone()),
            Box::new(freeze_refusals.clone()),
            Box::new(break_glass_active.clone()),
            Box::new(reload_held.clone()),
            Box::new(tenant_in_flight.clone()),
            Box::new(ratelimit.clone()),
            Box::new(admission_rejections.clone()),
            Box::new(webhook_verifications.clone()),
            Box::new(spool_depth.clone()),
            Box::new(spool_oldest_age.clone()),
            Box::new(spool_deliveries.clone()),
            Box::new(policy_duration.clone()),
            Box::new(policy_errors.clone()),
            Box::new(policy_shadow.clone()),
        ] {
            must(registry.register(c));
        }
        Metrics {
            registry,
            requests,
            duration,
            upstream_health,
            upstream_attempts,
            reloads,
            config_info,
            connections,
            canary_weight,
            canary_rollbacks,
            freeze_active,
            freeze_refusals,
            break_glass_active,
            reload_held,
            tenant_in_flight,
            ratelimit,
            admission_rejections,
            webhook_verifications,
            spool_depth,
            spool_oldest_age,
            spool_deliveries,
            policy_duration,
            policy_errors,
            policy_shadow,
        }
    }

    /// Sets `switchyard_canary_weight` for the routes of a snapshot (others removed).
    pub fn set_canary_weights(&self, snap: &crate::live::Snapshot) {
        self.canary_weight.reset();
        for (r, eff) in snap.config.routes.iter().zip(&snap.canary) {
            if r.canary.is_some() {
                self.canary_weight
                    .with_label_values(&[r.name.as_str()])
                    .set(eff.weight.percent());
            }
        }
    }

    /// Text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `2xx`, `4xx`, … for a status code.
pub fn code_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// Labels of one finished request, as indexes into the snapshot plus the names.
pub struct RequestLabels<'a> {
    /// Snapshot version the indexes refer to.
    pub version: u64,
    /// Route index and name.
    pub route: Option<(usize, &'a str)>,
    /// Tenant index and name.
    pub tenant: Option<(usize, &'a str)>,
    /// The release that served it.
    pub variant: Variant,
    /// Response status.
    pub status: u16,
    /// The proxy answered itself.
    pub rejected: bool,
}

type RequestKey = (usize, usize, Variant, u16, bool);

#[derive(Default)]
struct Handles {
    owner: usize,
    version: u64,
    requests: Vec<(RequestKey, prometheus::IntCounter)>,
    durations: Vec<(usize, prometheus::Histogram)>,
}

thread_local! {
    // Per worker thread: label lookups (hashing, a lock) happen once per label set and
    // snapshot, not once per request.
    static HANDLES: std::cell::RefCell<Handles> = std::cell::RefCell::new(Handles::default());
}

impl Metrics {
    /// Counts a finished request and observes its duration.
    pub fn record(&self, l: &RequestLabels<'_>, seconds: f64) {
        let owner = self as *const Metrics as usize;
        HANDLES.with(|h| {
            let mut h = h.borrow_mut();
            if h.owner != owner || h.version != l.version {
                *h = Handles {
                    owner,
                    version: l.version,
                    ..Handles::default()
                };
            }
            let key = (
                l.route.map_or(usize::MAX, |r| r.0),
                l.tenant.map_or(usize::MAX, |t| t.0),
                l.variant,
                l.status / 100,
                l.rejected,
            );
            let counter = match h.requests.iter().find(|(k, _)| *k == key) {
                Some((_, c)) => c.clone(),
                None => {
                    let decision = if l.rejected { "reject" } else { "forward" };
                    let labels = [
                        l.route.map_or("", |r| r.1),
                        l.tenant.map_or("", |t| t.1),
                        l.variant.as_str(),
                        code_class(l.status),
                        decision,
                    ];
                    let c = self.requests.with_label_values(&labels);
                    h.requests.push((key, c.clone()));
                    c
                }
            };
            counter.inc();
            let rkey = key.0;
            let hist = match h.durations.iter().find(|(k, _)| *k == rkey) {
                Some((_, d)) => d.clone(),
                None => {
                    let d = self
                        .duration
                        .with_label_values(&[l.route.map_or("", |r| r.1)]);
                    h.durations.push((rkey, d.clone()));
                    d
                }
            };
            hist.observe(seconds);
        });
    }
}
