//! The redis backend: state shared by every replica on one redis. It owns the key layout
//! (one HASH per namespace at `{prefix}{ns}`, change channel `{prefix}changes`), the command
//! connection (a `ConnectionManager` that reconnects by itself), the control-plane timeout on
//! every call, and the mapping of redis failures to [`StateError`]. The pub/sub side lives in
//! `subscriber`.

mod subscriber;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, RedisResult, Script};
use tokio::sync::{broadcast, oneshot};

use crate::{RedisSettings, StateError};

/// Control-plane calls wait at least this long: they are rare and a slow answer beats a
/// spurious failure; the configured (data-plane) timeout is usually far shorter.
const CONTROL_TIMEOUT_FLOOR: Duration = Duration::from_secs(2);

/// Reconnect backoff of the command connection and of the subscriber.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Few retries inside one connection attempt: while redis is down a call should fail fast
/// with `Unavailable` rather than spend its whole timeout retrying.
const CONNECT_RETRIES: usize = 2;

/// Compare-and-set of one hash field, plus the change announcement, atomically.
/// KEYS[1] hash; ARGV: field, expect ('any'|'absent'|'equal'), expected value,
/// op ('set'|'del'), new value, channel, namespace. Returns 1 if it wrote, else 0.
const CAS_LUA: &str = r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local expect = ARGV[2]
if (expect == 'absent' and cur) or (expect == 'equal' and cur ~= ARGV[3]) then
  return 0
end
if ARGV[4] == 'set' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
";

/// GCRA on redis' own clock (`TIME`), so replica clock skew cannot matter. KEYS[1]: the
/// bucket; ARGV: emission interval (µs), burst, cost. Returns {allowed, remaining,
/// reset_after µs, retry_after µs}; a refusal stores nothing.
const GCRA_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + cost * interval
local capacity = burst * interval
if new_tat - now <= capacity then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
  return {1, math.floor((capacity - (new_tat - now)) / interval), math.ceil(new_tat - now), 0}
end
return {0, 0, math.ceil(tat - now), math.ceil(new_tat - now - capacity)}
";

/// What the redis GCRA answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraReply {
    /// Admitted.
    pub allowed: bool,
    /// Requests left in the burst.
    pub remaining: u64,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until a request of this cost would pass (zero when allowed).
    pub retry_after: Duration,
}

thread_local! {
    // Data-plane calls use a connection driven on the calling thread's runtime (each worker
    // has its own): no hop to another thread's runtime and back on every rate-limit decision.
    static DATA_CONNS: std::cell::RefCell<Vec<(u128, ConnectionManager)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Namespaces as redis hashes, reached through a self-healing connection.
pub(crate) struct RedisBackend {
    conn: ConnectionManager,
    client: Client,
    data_config: ConnectionManagerConfig,
    /// Tells this backend's thread-local data connections from those of a backend that lived
    /// at the same address before (the open time, in ns).
    data_key: u128,
    prefix: String,
    channel: String,
    control_timeout: Duration,
    cas: Script,
    gcra: Script,
    data_timeout: Duration,
    changes: broadcast::Sender<String>,
    // Dropping the backend drops this sender, which ends the subscriber task.
    _stop_subscriber: oneshot::Sender<()>,
}

impl RedisBackend {
    /// Validates the URL and starts the subscriber task on the current tokio runtime; does not
    /// wait for redis, so a redis that is down at start is not an error.
    pub(crate) fn open(
        settings: &RedisSettings,
        changes: broadcast::Sender<String>,
    ) -> Result<Self, StateError> {
        let client = Client::open(settings.url.as_str())
            .map_err(|e| StateError::Config(format!("state.redis.url: {e}")))?;
        let control_timeout = settings.timeout.max(CONTROL_TIMEOUT_FLOOR);
        let config = ConnectionManagerConfig::new()
            .set_min_delay(MIN_BACKOFF)
            .set_max_delay(MAX_BACKOFF)
            .set_number_of_retries(CONNECT_RETRIES)
            .set_connection_timeout(Some(control_timeout))
            .set_response_timeout(Some(control_timeout));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| StateError::Config(format!("state.redis: {e}")))?;
        let data_config = ConnectionManagerConfig::new()
            .set_min_delay(MIN_BACKOFF)
            .set_max_delay(MAX_BACKOFF)
            .set_number_of_retries(CONNECT_RETRIES)
            .set_connection_timeout(Some(control_timeout))
            .set_response_timeout(Some(control_timeout));
        let client_for_data = client.clone();
        let channel = format!("{}changes", settings.prefix);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(subscriber::run(
            subscriber::Subscription {
                client,
                channel: channel.clone(),
                timeout: control_timeout,
                changes: changes.clone(),
            },
            stopped,
        ));
        Ok(RedisBackend {
            conn,
            client: client_for_data,
            data_config,
            data_key: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            prefix: settings.prefix.clone(),
            channel,
            control_timeout,
            cas: Script::new(CAS_LUA),
            gcra: Script::new(GCRA_LUA),
            data_timeout: settings.timeout,
            changes,
            _stop_subscriber: stop,
        })
    }

    /// This thread's data-plane connection to this backend (created lazily, driven on the
    /// calling runtime).
    fn data_conn(&self) -> Result<ConnectionManager, StateError> {
        let me = self.data_key ^ (self as *const RedisBackend as usize as u128);
        DATA_CONNS.with(|c| {
            let mut conns = c.borrow_mut();
            if let Some((_, conn)) = conns.iter().find(|(k, _)| *k == me) {
                return Ok(conn.clone());
            }
            let conn = ConnectionManager::new_lazy_with_config(
                self.client.clone(),
                self.data_config.clone(),
            )
            .map_err(|e| StateError::Config(format!("state.redis: {e}")))?;
            conns.push((me, conn.clone()));
            Ok(conn)
        })
    }

    pub(crate) fn changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    pub(crate) async fn get_all(&self, ns: &str) -> Result<BTreeMap<String, String>, StateError> {
        let key = self.key(ns);
        let mut conn = self.conn.clone();
        let mut cmd = ::redis::cmd("HGETALL");
        cmd.arg(&key);
        self.call("HGETALL", &key, cmd.query_async(&mut conn)).await
    }

    pub(crate) async fn get(&self, ns: &str, key: &str) -> Result<Option<String>, StateError> {
        let hash = self.key(ns);
        let mut conn = self.conn.clone();
        let mut cmd = ::redis::cmd("HGET");
        cmd.arg(&hash).arg(key);
        self.call("HGET", &hash, cmd.query_async(&mut conn)).await
    }

    /// One script round trip for both `set` (`expected == None`) and CAS, so every write is
    /// atomic with its PUBLISH. Announces locally too, so this process learns of its own write
    /// even while its subscriber is reconnecting.
    pub(crate) async fn compare_and_set(
        &self,
        ns: &str,
        field: &str,
        expected: Option<Option<&str>>,
        new: Option<&str>,
    ) -> Result<bool, StateError> {
        let hash = self.key(ns);
        let (expect, expected) = match expected {
            None => ("any", ""),
            Some(None) => ("absent", ""),
            Some(Some(value)) => ("equal", value),
        };
        let (op, new) = match new {
            Some(value) => ("set", value),
            None => ("del", ""),
        };
        let mut conn = self.conn.clone();
        let mut invocation = self.cas.key(&hash);
        invocation
            .arg(field)
            .arg(expect)
            .arg(expected)
            .arg(op)
            .arg(new);
        invocation.arg(&self.channel).arg(ns);
        let wrote: i64 = self
            .call("EVALSHA", &hash, invocation.invoke_async(&mut conn))
            .await?;
        if wrote == 1 {
            // No receiver is not an error: nobody is watching yet.
            let _ = self.changes.send(ns.to_owned());
        }
        Ok(wrote == 1)
    }

    /// `SET <prefix>dd:<key> pending NX PX ttl`, or the value already there.
    pub(crate) async fn dedupe_claim(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<crate::Claim, StateError> {
        let full = format!("{}dd:{key}", self.prefix);
        let mut conn = self.data_conn()?;
        let mut set = ::redis::cmd("SET");
        set.arg(&full)
            .arg(crate::dedupe::PENDING)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        let done: Option<String> = self
            .data_call("SET", &full, set.query_async(&mut conn))
            .await?;
        if done.is_some() {
            return crate::dedupe::from_redis(true, None);
        }
        let mut get = ::redis::cmd("GET");
        get.arg(&full);
        let existing: Option<String> = self
            .data_call("GET", &full, get.query_async(&mut conn))
            .await?;
        crate::dedupe::from_redis(false, existing)
    }

    /// `SET <prefix>dd:<key> outcome PX ttl`.
    pub(crate) async fn dedupe_set(
        &self,
        key: &str,
        outcome: &str,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let full = format!("{}dd:{key}", self.prefix);
        let mut conn = self.data_conn()?;
        let mut set = ::redis::cmd("SET");
        set.arg(&full)
            .arg(outcome)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        let _: Option<String> = self
            .data_call("SET", &full, set.query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// `DEL <prefix>dd:<key>`.
    pub(crate) async fn dedupe_del(&self, key: &str) -> Result<(), StateError> {
        let full = format!("{}dd:{key}", self.prefix);
        let mut conn = self.data_conn()?;
        let mut del = ::redis::cmd("DEL");
        del.arg(&full);
        let _: i64 = self
            .data_call("DEL", &full, del.query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// Bounds a data-plane call by `state.redis.timeout`.
    async fn data_call<T>(
        &self,
        command: &str,
        key: &str,
        query: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StateError> {
        match tokio::time::timeout(self.data_timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(command, key, &e)),
            Err(_) => Err(StateError::Unavailable(format!(
                "redis {command} {key}: no reply within {} ms",
                self.data_timeout.as_millis()
            ))),
        }
    }

    /// One GCRA decision for `<prefix>rl:<key>`, bounded by the data-plane timeout.
    pub(crate) async fn gcra(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
        cost: u32,
    ) -> Result<GcraReply, StateError> {
        let full = format!("{}rl:{key}", self.prefix);
        let mut conn = self.data_conn()?;
        let mut inv = self.gcra.key(&full);
        inv.arg(interval.as_secs_f64() * 1e6).arg(burst).arg(cost);
        let call = inv.invoke_async::<(i64, i64, i64, i64)>(&mut conn);
        let (allowed, remaining, reset, retry) =
            match tokio::time::timeout(self.data_timeout, call).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Err(classify("EVALSHA", &full, &e)),
                Err(_) => {
                    return Err(StateError::Unavailable(format!(
                        "redis rate limit {full}: no reply within {} ms",
                        self.data_timeout.as_millis()
                    )))
                }
            };
        let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
        Ok(GcraReply {
            allowed: allowed == 1,
            remaining: u64::try_from(remaining).unwrap_or(0),
            reset_after: us(reset),
            retry_after: us(retry),
        })
    }

    /// `XADD <prefix><stream> MAXLEN ~ max_len * entry <entry>`.
    pub(crate) async fn append_stream(
        &self,
        stream: &str,
        entry: &str,
        max_len: usize,
    ) -> Result<(), StateError> {
        let key = self.key(stream);
        let mut conn = self.conn.clone();
        let mut cmd = ::redis::cmd("XADD");
        cmd.arg(&key)
            .arg("MAXLEN")
            .arg("~")
            .arg(max_len)
            .arg("*")
            .arg("entry")
            .arg(entry);
        let _id: String = self.call("XADD", &key, cmd.query_async(&mut conn)).await?;
        Ok(())
    }

    fn key(&self, ns: &str) -> String {
        format!("{}{ns}", self.prefix)
    }

    /// Bounds one call by the control-plane timeout and names the command and key on failure.
    async fn call<T>(
        &self,
        command: &str,
        key: &str,
        query: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StateError> {
        match tokio::time::timeout(self.control_timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(command, key, &e)),
            Err(_) => Err(StateError::Unavailable(format!(
                "redis {command} {key}: no reply within {} ms",
                self.control_timeout.as_millis()
            ))),
        }
    }
}

/// A value of the wrong shape is `Corrupt` (a human must look); anything else (refused,
/// dropped, loading, read-only replica, ...) is `Unavailable` and may heal by itself.
fn classify(command: &str, key: &str, e: &RedisError) -> StateError {
    let wrong_shape = e.kind() == ::redis::ErrorKind::UnexpectedReturnType
        || e.code() == Some("WRONGTYPE")
        || e.to_string().contains("WRONGTYPE");
    if wrong_shape {
        return StateError::Corrupt {
            what: format!("redis key {key}"),
            reason: format!("{command}: {e}"),
        };
    }
    StateError::Unavailable(format!("redis {command} {key}: {e}"))
}

#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
