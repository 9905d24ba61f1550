//! The governance controller on the control thread: applies state the backend announces as
//! changed (this replica's writes or another's: canary overrides, manual freezes,
//! break-glass), runs the canary tick (guards, ramps, stale overrides) every [`TICK`], and
//! once a second publishes the freeze gauges and retries a reload held by a freeze once its
//! window has ended or a break-glass is active.

use crate::freeze::{GlassStatus, NS_FREEZES, NS_GLASS};
use crate::live::{Shared, Trigger};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// How often guards are asked and ramps looked at.
pub const TICK: Duration = Duration::from_millis(100);

/// Runs until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut changes = shared.store().changes();
    // Subscribed first, then read: a change made between start-up and now is not missed.
    shared.refresh_canary().await;
    shared.refresh_freeze().await;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                crate::canary::control::step(&shared).await;
                n += 1;
                if n.is_multiple_of(10) {
                    freeze_tick(&shared).await;
                }
            }
            msg = changes.recv() => match msg {
                Ok(ns) if ns == crate::canary::NS => shared.refresh_canary().await,
                Ok(ns) if ns == NS_FREEZES || ns == NS_GLASS => shared.refresh_freeze().await,
                Ok(ns) if ns != switchyard_state::RESYNC_ALL => {}
                Err(RecvError::Closed) => changes = shared.store().changes(),
                _ => {
                    shared.refresh_canary().await;
                    shared.refresh_freeze().await;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Freeze gauges, and the retry of a held reload.
async fn freeze_tick(shared: &Shared) {
    let now = chrono::Utc::now();
    let snap = shared.live.load_full();
    let st = shared.freeze.load_full();
    let m = &shared.metrics;
    m.freeze_active.reset();
    for w in &snap.config.freeze.windows {
        m.freeze_active
            .with_label_values(&[w.name.as_str()])
            .set(i64::from(w.occurrence_at(now).is_some()));
    }
    // Manual freezes have generated ids: one series counts them (labels are config names).
    let manual = st
        .windows
        .iter()
        .filter(|w| w.occurrence_at(now).is_some())
        .count();
    m.freeze_active
        .with_label_values(&["manual"])
        .set(i64::try_from(manual).unwrap_or(0));
    let glass = st
        .glass
        .iter()
        .filter(|(g, _)| g.status(now) == GlassStatus::Active);
    m.break_glass_active
        .set(i64::try_from(glass.count()).unwrap_or(0));
    let held = shared
        .held
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    m.reload_held.set(i64::from(held.is_some()));
    if let Some(h) = held {
        if crate::freeze::reload::may_retry(shared, &h) {
            let st = shared.reload(Trigger::Held, "system:freeze").await;
            if st.result == "applied" {
                m.reload_held.set(0);
            }
        }
    }
}
