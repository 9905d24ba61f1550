//! switchyard-spool is the durable webhook spool behind SPEC §9: "a webhook answered 202 is on
//! disk (fdatasync'd) first; it survives kill -9 and upstream outages and is delivered at least
//! once; disk full or fsync error → 503, never a false 2xx". It is an append-only log of
//! CRC-framed records in segment files, one writer thread that group-commits appends under one
//! fdatasync, recovery that cuts a torn tail and refuses real corruption, and an in-memory
//! FIFO delivery queue per partner with retry pacing and dead letters.
//!
//! How the server uses it: answer 202 only after [`Spool::append`] returned `Ok` (any `Err` is
//! a 503); run one delivery loop per partner that takes [`Spool::next_due`], POSTs it upstream,
//! then calls [`Spool::ack`] (2xx), [`Spool::retry_later`] (5xx, connect error) or
//! [`Spool::dead_letter`] (4xx).
//!
//! Durability rules the caller relies on:
//! - `append` returns `Ok` only after the frame is written and fdatasync'd; `Err` means the
//!   record is not in the spool (its bytes were truncated away; after an fdatasync error a
//!   Purge marker also follows in a new segment). Dropping the `append` future does not cancel
//!   the write: a record may be stored and delivered although its caller went away.
//! - `ack`, `dead_letter`, `replay_dead` and `purge_dead` change the state in memory at once
//!   and reach the disk with the writer's next batch (it runs right away, and fdatasyncs too);
//!   [`Spool::sync`] waits for that. A crash before then loses at most those changes: an
//!   acked record is delivered again (a duplicate the partner's `webhook-id` / dedupe key lets
//!   the receiver drop), a dead-letter, replay or purge is undone.
//! - Attempt counts and retry times live in memory only: after a restart every pending record
//!   is due at once with zero attempts; `max_age` still bounds it through `received_at_ms`.
//! - Delivery is at least once and strictly FIFO per partner; `next_due` does not lease a
//!   record, so run exactly one delivery loop per partner (per process).
//!
//! The on-disk format is documented in the `frame` module, segment naming and the directory
//! lock in `segment`, what recovery truncates and what it refuses in `recovery`, and when a
//! segment's space is returned in `reclaim`.

mod error;
mod frame;
mod index;
mod reclaim;
mod recovery;
mod retry;
mod segment;
mod spool;
mod writer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use error::SpoolError;
pub use retry::{Jitter, RetryOutcome, RetryPolicy};
pub use spool::Spool;

/// Segment size used when the caller has no reason to pick another: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// Where and how large the spool is (SPEC §2 `spool`, under `state.data_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Directory of the segment files; created if missing; one process at a time (locked).
    pub dir: PathBuf,
    /// Appends that would take the segment files past this many bytes fail with `Full`.
    /// Ack/dead/replay/purge markers are still written past it (they are tiny and free space).
    pub max_bytes: u64,
    /// A new segment is started once the active one reaches about this size
    /// ([`DEFAULT_SEGMENT_BYTES`]); a segment's space returns once all its records are done.
    pub segment_bytes: u64,
}

/// A received webhook, as the server hands it to [`Spool::append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// Partner name from the config (`partners.<name>`); one delivery queue per partner.
    pub partner: String,
    /// The webhook id / dedupe key, shown to the partner and to operators.
    pub id: String,
    /// When it was received (ms since the Unix epoch, the server's clock); ages and `max_age`
    /// are measured from it.
    pub received_at_ms: u64,
    /// Request method to replay upstream.
    pub method: String,
    /// Request target to replay upstream.
    pub path_and_query: String,
    /// Headers to replay upstream, raw values.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The raw body, byte for byte.
    pub body: bytes::Bytes,
}

/// A stored webhook read back for delivery or inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Spool sequence number: unique, increasing in append order.
    pub seq: u64,
    /// See [`NewRecord::partner`].
    pub partner: String,
    /// See [`NewRecord::id`].
    pub id: String,
    /// See [`NewRecord::received_at_ms`].
    pub received_at_ms: u64,
    /// See [`NewRecord::method`].
    pub method: String,
    /// See [`NewRecord::path_and_query`].
    pub path_and_query: String,
    /// See [`NewRecord::headers`].
    pub headers: Vec<(String, Vec<u8>)>,
    /// See [`NewRecord::body`].
    pub body: bytes::Bytes,
    /// Failed delivery attempts since it was appended, replayed or the process started.
    pub attempts: u32,
}

/// One partner's queue, for `/api/v1/spool`, `switchyard ctl spool ls` and the metrics
/// `switchyard_spool_depth` / `switchyard_spool_oldest_age_seconds`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerStats {
    /// Pending records (not dead-lettered).
    pub depth: usize,
    /// Age of the oldest pending record, 0 when none.
    pub oldest_age_ms: u64,
    /// Dead-lettered records.
    pub dead: usize,
    /// On-disk bytes of its pending and dead records.
    pub bytes: u64,
    /// Failed attempts recorded through `retry_later` since the process started.
    pub attempts_total: u64,
    /// Whether deliveries are paused.
    pub paused: bool,
}

/// What [`Spool::open`] found, for the startup log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files read (or the one created for an empty directory).
    pub segments: usize,
    /// Intact frames replayed.
    pub frames: u64,
    /// Records pending delivery.
    pub pending: usize,
    /// Dead-lettered records.
    pub dead: usize,
    /// The torn tail cut off the last segment, if there was one.
    pub truncated: Option<Truncation>,
}

/// A torn tail removed by recovery: bytes of a write that a crash interrupted, none of which
/// was ever answered with success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The segment file cut.
    pub segment: PathBuf,
    /// Its new length: where the first bad frame started.
    pub offset: u64,
    /// Bytes removed.
    pub bytes: u64,
    /// Why the tail was judged torn (partial header, frame past end of file, …).
    pub reason: String,
}
