//! The change subscriber: one background task per redis `Store` that keeps a pub/sub
//! connection SUBSCRIBEd to `{prefix}changes` and forwards each namespace into the store's
//! broadcast channel. After every successful (re)subscribe it sends [`RESYNC_ALL`], because
//! messages published while it was away are lost. It reconnects forever with backoff and ends
//! when the store is dropped.

use std::time::Duration;

use ::redis::aio::PubSub;
use ::redis::{Client, Value};
use futures_util::StreamExt;
use tokio::sync::{broadcast, oneshot};

use super::{MAX_BACKOFF, MIN_BACKOFF};
use crate::RESYNC_ALL;

/// How often an idle subscription is PINGed, so a silently dead connection (no FIN, e.g. a
/// network partition) is noticed and replaced.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(5);

/// What the task needs to (re)subscribe and where it forwards messages.
pub(super) struct Subscription {
    pub(super) client: Client,
    pub(super) channel: String,
    pub(super) timeout: Duration,
    pub(super) changes: broadcast::Sender<String>,
}

/// Runs until `stop` resolves, i.e. until its sender (held by the backend) is dropped.
pub(super) async fn run(sub: Subscription, stop: oneshot::Receiver<()>) {
    tokio::select! {
        _ = stop => {}
        () = subscribe_forever(&sub) => {}
    }
}

async fn subscribe_forever(sub: &Subscription) {
    let mut backoff = MIN_BACKOFF;
    loop {
        if let Some(pubsub) = subscribe(sub).await {
            backoff = MIN_BACKOFF;
            // No receiver is not an error: nobody is watching yet.
            let _ = sub.changes.send(RESYNC_ALL.to_owned());
            forward(sub, pubsub).await;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Connects and subscribes within the control-plane timeout; `None` on any failure.
async fn subscribe(sub: &Subscription) -> Option<PubSub> {
    let attempt = async {
        let mut pubsub = sub.client.get_async_pubsub().await?;
        pubsub.subscribe(&sub.channel).await?;
        Ok::<_, ::redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(sub.timeout, attempt).await {
        Ok(Ok(pubsub)) => Some(pubsub),
        Ok(Err(_)) | Err(_) => None,
    }
}

/// Forwards messages until the connection ends or stops answering PING.
async fn forward(sub: &Subscription, pubsub: PubSub) {
    let (mut sink, mut messages) = pubsub.split();
    let mut health = tokio::time::interval(HEALTH_CHECK_EVERY);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else { return };
                // Anything that is not a namespace was not published by a switchyard.
                if let Ok(ns) = msg.get_payload::<String>() {
                    if crate::check_namespace(&ns).is_ok() {
                        let _ = sub.changes.send(ns);
                    }
                }
            }
            _ = health.tick() => {
                let ping = tokio::time::timeout(sub.timeout, sink.ping::<Value>()).await;
                if !matches!(ping, Ok(Ok(_))) {
                    return;
                }
            }
        }
    }
}
