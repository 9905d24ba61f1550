//! The canary runtime: what weight each route runs at and why. Runtime overrides (set through
//! the admin API, a ramp or the guard) live in the state backend under the namespace
//! [`NS`], one JSON [`Override`] per route; [`effective`] resolves config ⊕ overrides into
//! the per-route [`Effective`] values a [`crate::live::Snapshot`] carries, so the data plane
//! reads a weight with no lookup. An override remembers the config value it overrode; once
//! the config changes that value, Git wins and the override is dropped ([`stale`]).
//! [`control`] runs the guard and the ramps; every change goes through
//! [`crate::governance`].

pub mod control;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use switchyard_core::canary::guard::GuardWindow;
use switchyard_core::canary::ramp::{RampState, RampStatus};
use switchyard_core::canary::Weight;
use switchyard_core::config::{Canary, Config};

/// State-backend namespace of canary overrides.
pub const NS: &str = "canary";

/// A runtime override of one route's canary weight, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// Weight in percent.
    pub weight: f64,
    /// The config weight in force when the override was made.
    pub config_weight: f64,
    /// Who made it (token name or `system:…`).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub reason: String,
    /// Ramp progress, when a ramp was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampState>,
}

impl Override {
    /// The weight, if the stored value is one.
    pub fn weight(&self) -> Option<Weight> {
        Weight::from_percent(self.weight).ok()
    }
}

/// Overrides as last read from the backend: route name → (raw JSON, parsed).
pub type Overrides = BTreeMap<String, (String, Override)>;

/// Parses what the backend holds; unreadable entries are reported and ignored.
pub fn parse_all(raw: BTreeMap<String, String>) -> (Overrides, Vec<String>) {
    let mut ok = Overrides::new();
    let mut bad = Vec::new();
    for (route, text) in raw {
        match serde_json::from_str::<Override>(&text) {
            Ok(o) if o.weight().is_some() => {
                ok.insert(route, (text, o));
            }
            _ => bad.push(route),
        }
    }
    (ok, bad)
}

/// One route's weight in force.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The weight requests are split by.
    pub weight: Weight,
    /// The override behind it, if any (else the config value).
    pub source: Option<Arc<Override>>,
}

/// True when an override no longer applies: its route lost its canary, or the config
/// changed the value it overrode.
pub fn stale(cfg: &Config, route: &str, o: &Override) -> bool {
    match cfg
        .routes
        .iter()
        .find(|r| r.name == route)
        .and_then(|r| r.canary.as_ref())
    {
        Some((_, c)) => Weight::from_percent(o.config_weight).ok() != Some(c.weight),
        None => true,
    }
}

/// The weight in force per route (indexed like `cfg.routes`): the override while it
/// applies, else the config value. Routes without a canary run at 0.
pub fn effective(cfg: &Config, overrides: &Overrides) -> Vec<Effective> {
    cfg.routes
        .iter()
        .map(|r| match &r.canary {
            None => Effective {
                weight: Weight::ZERO,
                source: None,
            },
            Some((_, c)) => match overrides.get(&r.name) {
                Some((_, o)) if !stale(cfg, &r.name, o) => Effective {
                    weight: o.weight().unwrap_or(c.weight),
                    source: Some(Arc::new(o.clone())),
                },
                _ => Effective {
                    weight: c.weight,
                    source: None,
                },
            },
        })
        .collect()
}

/// A guard window with the settings it was built for.
type GuardEntry = (
    switchyard_core::canary::GuardSettings,
    Arc<Mutex<GuardWindow>>,
);

/// A guard window per route, kept by route name across snapshots while its settings hold.
#[derive(Default)]
pub struct Guards(Mutex<BTreeMap<String, GuardEntry>>);

impl Guards {
    /// The windows for a config, indexed like `cfg.routes` (None: no guard).
    pub fn for_config(&self, cfg: &Config) -> Vec<Option<Arc<Mutex<GuardWindow>>>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept = BTreeMap::new();
        let out = cfg
            .routes
            .iter()
            .map(|r| {
                let settings = r.canary.as_ref().and_then(|(_, c)| c.guard)?;
                let window = match map.remove(&r.name) {
                    Some((s, w)) if s == settings => w,
                    _ => Arc::new(Mutex::new(GuardWindow::new(settings))),
                };
                kept.insert(r.name.clone(), (settings, window.clone()));
                Some(window)
            })
            .collect();
        *map = kept;
        out
    }
}

/// The canary part of `/api/v1/status` and `GET /api/v1/routes/{route}/canary`.
pub fn view(cfg: &Config, route: usize, eff: &Effective) -> Value {
    let r = &cfg.routes[route];
    let Some((pool, c)) = &r.canary else {
        return Value::Null;
    };
    let source = eff.source.as_deref();
    json!({
        "route": r.name,
        "pool": cfg.pools[pool.0].name,
        "weight": eff.weight.percent(),
        "source": if source.is_some() { "override" } else { "config" },
        "config_weight": c.weight.percent(),
        "override": source.map(|o| json!({"by": o.by, "at": o.at, "reason": o.reason})),
        "ramp": source.and_then(|o| o.ramp.as_ref()).map(|s| ramp_view(c, s)),
        "sticky": sticky_name(c),
        "guard": c.guard.map(|g| json!({
            "window_seconds": g.window.as_secs_f64(),
            "min_requests": g.min_requests,
            "max_error_rate": g.max_error_rate,
            "max_p99_ratio": g.max_p99_ratio,
        })),
    })
}

fn ramp_view(c: &Canary, s: &RampState) -> Value {
    let steps: Vec<f64> = c
        .ramp
        .as_ref()
        .map(|p| p.steps.iter().map(|w| w.percent()).collect())
        .unwrap_or_default();
    let running = matches!(s.status, RampStatus::Running);
    let next_at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(s.next_at_ms);
    let mut v = json!({
        "state": s.status.as_str(),
        "step": s.step,
        "steps": steps,
        "next_at": running.then(|| humantime::format_rfc3339_millis(next_at).to_string()),
    });
    match &s.status {
        RampStatus::Paused { remaining_ms } => v["remaining_ms"] = json!(remaining_ms),
        RampStatus::Stopped { reason } => v["reason"] = json!(reason),
        RampStatus::Running | RampStatus::Done => {}
    }
    v
}

fn sticky_name(c: &Canary) -> String {
    use switchyard_core::config::Sticky;
    match &c.sticky {
        Sticky::Tenant => "tenant".into(),
        Sticky::Cookie => format!("cookie:{}", c.cookie),
        Sticky::Header(h) => format!("header:{h}"),
        Sticky::ClientIp => "client_ip".into(),
    }
}
