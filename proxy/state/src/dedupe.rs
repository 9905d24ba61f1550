//! Dedupe keys: the first request with a key claims it (for its TTL) and later records its
//! outcome; a request with a claimed key learns the first one's outcome instead of being
//! processed again. Local: an in-memory map with expiry (one process; lost on restart).
//! Redis: `SET NX PX` so every replica sees the same claim, bounded by the data-plane timeout.

use crate::StateError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: the caller processes the request and then records its outcome.
    New,
    /// Seen before: the first request's outcome (None while it is still being processed).
    Seen(Option<String>),
}

/// The value stored while the first request is being processed.
pub(crate) const PENDING: &str = "\u{0}pending";

/// The local dedupe map.
#[derive(Default)]
pub(crate) struct LocalDedupe(Mutex<HashMap<String, (Instant, String)>>);

impl LocalDedupe {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn claim(&self, key: &str, ttl: Duration) -> Claim {
        let now = Instant::now();
        let mut m = self.lock();
        if m.len() > 100_000 {
            m.retain(|_, (exp, _)| *exp > now);
        }
        match m.get(key) {
            Some((exp, v)) if *exp > now => Claim::Seen((v != PENDING).then(|| v.clone())),
            _ => {
                m.insert(key.to_owned(), (now + ttl, PENDING.to_owned()));
                Claim::New
            }
        }
    }

    pub(crate) fn record(&self, key: &str, outcome: &str, ttl: Duration) {
        self.lock()
            .insert(key.to_owned(), (Instant::now() + ttl, outcome.to_owned()));
    }

    pub(crate) fn release(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// Maps a redis reply of `SET NX … GET`-style claims to a [`Claim`].
pub(crate) fn from_redis(set: bool, existing: Option<String>) -> Result<Claim, StateError> {
    Ok(if set {
        Claim::New
    } else {
        Claim::Seen(existing.filter(|v| v != PENDING))
    })
}
