//! switchyard-state owns what must outlive a process and be shared between replicas, behind one
//! type: [`Store`]. Two backends sit behind it: `local` (files under `data_dir`, one process)
//! and `redis` (several replicas on one Redis). It holds keyed namespaces of small opaque
//! documents (the caller stores JSON) with compare-and-set and change notifications, shared
//! rate-limit buckets (GCRA on redis' clock), dedupe claims and the mirrored audit stream;
//! data-plane calls (rate limits, dedupe) are bounded by `state.redis.timeout`.
//!
//! Callers read a namespace with [`Store::get_all`] on start and again whenever
//! [`Store::changes`] names it (or sends [`RESYNC_ALL`]), so missed or repeated notifications
//! cost a re-read, never a wrong value.

mod dedupe;
mod error;
mod local;
mod redis;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

pub use dedupe::Claim;
pub use error::StateError;
pub use redis::GcraReply;

/// Sent on [`Store::changes`] instead of a namespace when every namespace must be re-read
/// (the redis subscriber (re)connected and may have missed messages meanwhile).
pub const RESYNC_ALL: &str = "*";

/// How many notifications a slow [`Store::changes`] receiver may fall behind before it sees
/// `RecvError::Lagged`, which it must treat like [`RESYNC_ALL`].
const CHANGES_CAPACITY: usize = 256;

/// The longest namespace name accepted, so file names and redis keys stay short.
const MAX_NAMESPACE_LEN: usize = 64;

/// Connection settings of the redis backend (SPEC §2 `state.redis`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisSettings {
    /// `redis://[user:pass@]host:port/db` (or `rediss://` if the client was built with TLS).
    pub url: String,
    /// Prepended to every key and channel, e.g. `switchyard:`; lets replicas share one redis.
    pub prefix: String,
    /// Data-plane budget per call (e.g. 20 ms). Control-plane calls of this crate wait
    /// `max(timeout, 2 s)` instead.
    pub timeout: Duration,
}

/// Which backend [`Store::open`] opens (SPEC §2 `state.backend`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfig {
    /// Embedded files under `data_dir/state/`; for a single process.
    Local {
        /// The configured `state.data_dir`; created if missing.
        data_dir: PathBuf,
    },
    /// A redis shared by every replica.
    Redis {
        /// How to reach it.
        settings: RedisSettings,
    },
}

/// Handle on the state backend; cheap to clone, every clone shares one backend.
///
/// Dropping the last clone stops the backend's background tasks.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Backend>,
}

enum Backend {
    Local(local::LocalBackend),
    Redis(Box<redis::RedisBackend>),
}

impl Store {
    /// Opens the backend.
    ///
    /// Local: creates `data_dir/state/` and removes temp files a crash left there.
    /// Redis: never fails because redis is down (it connects in the background, calls fail
    /// with [`StateError::Unavailable`] until it is up); fails only on a malformed URL. Must be
    /// called inside a tokio runtime, which then runs the redis subscriber task.
    pub async fn open(cfg: &BackendConfig) -> Result<Store, StateError> {
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        let backend = match cfg {
            BackendConfig::Local { data_dir } => {
                Backend::Local(local::LocalBackend::open(data_dir, changes).await?)
            }
            BackendConfig::Redis { settings } => {
                Backend::Redis(Box::new(redis::RedisBackend::open(settings, changes)?))
            }
        };
        Ok(Store {
            inner: Arc::new(backend),
        })
    }

    /// `"local"` or `"redis"`, for status pages and metrics labels.
    pub fn backend_name(&self) -> &'static str {
        match &*self.inner {
            Backend::Local(_) => "local",
            Backend::Redis(_) => "redis",
        }
    }

    /// Every key of namespace `ns` with its value; empty if the namespace was never written.
    pub async fn get_all(&self, ns: &str) -> Result<BTreeMap<String, String>, StateError> {
        check_namespace(ns)?;
        match &*self.inner {
            Backend::Local(b) => b.get_all(ns).await,
            Backend::Redis(b) => b.get_all(ns).await,
        }
    }

    /// The value of `key` in namespace `ns`, `None` if absent.
    pub async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, StateError> {
        check_namespace(ns)?;
        match &*self.inner {
            Backend::Local(b) => b.get(ns, key).await,
            Backend::Redis(b) => b.get(ns, key).await,
        }
    }

    /// Unconditional write; `None` deletes. Durable (local) or acknowledged by redis when it
    /// returns `Ok`, then announced on [`Store::changes`].
    pub async fn set(&self, ns: &str, key: &str, value: Option<&str>) -> Result<(), StateError> {
        self.compare_and_set_inner(ns, key, None, value).await?;
        Ok(())
    }

    /// Writes `new` (`None` deletes) only if the current value equals `expected`
    /// (`None` = absent), atomically against every other writer of this backend.
    /// Returns whether it wrote; `false` means someone else changed the key first.
    pub async fn compare_and_set(
        &self,
        ns: &str,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
    ) -> Result<bool, StateError> {
        self.compare_and_set_inner(ns, key, Some(expected), new)
            .await
    }

    /// Receives the namespaces changed by this process or (redis) by any replica, at least
    /// once per change, possibly more. [`RESYNC_ALL`] (or a `Lagged` error) means: re-read
    /// every namespace. Take the receiver *before* the initial read, so that no change can
    /// fall between the two.
    pub fn changes(&self) -> broadcast::Receiver<String> {
        match &*self.inner {
            Backend::Local(b) => b.changes(),
            Backend::Redis(b) => b.changes(),
        }
    }

    /// A rate-limit decision shared by every replica (redis: GCRA in one script on redis' own
    /// clock, bounded by `state.redis.timeout`). `Ok(None)` with the local backend: the caller
    /// keeps its own bucket. An error means redis did not answer in time: the caller applies
    /// its fail mode.
    pub async fn rate_limit(
        &self,
        key: &str,
        interval: std::time::Duration,
        burst: u32,
        cost: u32,
    ) -> Result<Option<GcraReply>, StateError> {
        match &*self.inner {
            Backend::Local(_) => Ok(None),
            Backend::Redis(b) => b.gcra(key, interval, burst, cost).await.map(Some),
        }
    }

    /// Claims dedupe key `key` for `ttl`, or learns the outcome of the request that did.
    pub async fn dedupe_claim(&self, key: &str, ttl: Duration) -> Result<Claim, StateError> {
        match &*self.inner {
            Backend::Local(b) => Ok(b.dedupe.claim(key, ttl)),
            Backend::Redis(b) => b.dedupe_claim(key, ttl).await,
        }
    }

    /// Records the outcome of the request that claimed `key` (seen by later duplicates).
    pub async fn dedupe_record(
        &self,
        key: &str,
        outcome: &str,
        ttl: Duration,
    ) -> Result<(), StateError> {
        match &*self.inner {
            Backend::Local(b) => {
                b.dedupe.record(key, outcome, ttl);
                Ok(())
            }
            Backend::Redis(b) => b.dedupe_set(key, outcome, ttl).await,
        }
    }

    /// Gives a claimed key back (the request was refused before it was processed).
    pub async fn dedupe_release(&self, key: &str) -> Result<(), StateError> {
        match &*self.inner {
            Backend::Local(b) => {
                b.dedupe.release(key);
                Ok(())
            }
            Backend::Redis(b) => b.dedupe_del(key).await,
        }
    }

    /// Mirrors a record to the shared stream `stream` (redis: `XADD`, trimmed to about
    /// `max_len` entries, so every replica's audit trail is readable in one place). The local
    /// backend has nothing to share with and keeps nothing: its callers keep their own files.
    pub async fn append_stream(
        &self,
        stream: &str,
        entry: &str,
        max_len: usize,
    ) -> Result<(), StateError> {
        check_namespace(stream)?;
        match &*self.inner {
            Backend::Local(_) => Ok(()),
            Backend::Redis(b) => b.append_stream(stream, entry, max_len).await,
        }
    }

    // One entry point for set and CAS: `expected == None` means "whatever is there".
    async fn compare_and_set_inner(
        &self,
        ns: &str,
        key: &str,
        expected: Option<Option<&str>>,
        new: Option<&str>,
    ) -> Result<bool, StateError> {
        check_namespace(ns)?;
        match &*self.inner {
            Backend::Local(b) => b.compare_and_set(ns, key, expected, new).await,
            Backend::Redis(b) => b.compare_and_set(ns, key, expected, new).await,
        }
    }
}

// Namespaces become file names and redis keys, so they are restricted to a safe alphabet.
pub(crate) fn check_namespace(ns: &str) -> Result<(), StateError> {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if ns.is_empty() || ns.len() > MAX_NAMESPACE_LEN || !ns.chars().all(ok_char) {
        return Err(StateError::InvalidNamespace(ns.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_alphabet() {
        for ok in ["overrides", "ramp_state", "a-1", "0"] {
            assert!(check_namespace(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_NAMESPACE_LEN + 1);
        for bad in ["", "Upper", "../x", "a.b", "a/b", "a b", "*", long.as_str()] {
            assert!(
                matches!(check_namespace(bad), Err(StateError::InvalidNamespace(_))),
                "{bad}"
            );
        }
    }
}
