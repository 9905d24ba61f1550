//! The [`Spool`] handle: opening (lock, recovery, writer thread), the append path into the
//! writer, and the delivery-queue operations on the shared index. Reads of record bodies happen
//! outside the index lock, on the segment's shared file handle (which stays readable even if
//! the segment is deleted meanwhile).

use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::{io_err, writer_gone};
use crate::frame::{self, Kind};
use crate::index::Loc;
use crate::recovery::recover;
use crate::writer::{Msg, PutReq, Shared, Writer};
use crate::{
    segment, NewRecord, PartnerStats, Record, RecoveryReport, RetryOutcome, RetryPolicy,
    SpoolError, SpoolOptions,
};

/// The durable webhook spool of one directory. `Send + Sync`; share it as `Arc<Spool>`.
/// Dropping it writes the queued markers and stops the writer thread.
pub struct Spool {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    writer: Option<JoinHandle<()>>,
    report: RecoveryReport,
    _lock: std::fs::File,
}

impl Spool {
    /// Opens (or creates) the spool in `opts.dir`: takes the directory lock (a second process
    /// gets `Io`), recovers every segment — verifying every frame, cutting a torn tail of the
    /// last segment, refusing any other bad frame with `Corrupt` — rebuilds the pending and
    /// dead sets, and starts the writer thread. See [`Spool::recovery`] for what was found.
    pub fn open(opts: SpoolOptions) -> Result<Spool, SpoolError> {
        std::fs::create_dir_all(&opts.dir).map_err(|e| io_err("create", &opts.dir, &e))?;
        let lock = segment::lock(&opts.dir)?;
        let rec = recover(&opts.dir)?;
        let shared = Arc::new(Shared::new(rec.index));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            shared: Arc::clone(&shared),
            rx,
            dir: opts.dir.clone(),
            active: rec.active,
            next_seq: rec.next_seq,
            max_bytes: opts.max_bytes,
            segment_bytes: opts.segment_bytes,
            roll_next: false,
        };
        let thread = std::thread::Builder::new().name("spool-writer".to_owned());
        let handle = thread.spawn(move || writer.run());
        let handle = handle.map_err(|e| SpoolError::Io(format!("start the spool writer: {e}")))?;
        let report = rec.report;
        Ok(Spool {
            shared,
            tx,
            writer: Some(handle),
            report,
            _lock: lock,
        })
    }

    /// What recovery found when this spool was opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.report
    }

    /// Stores a webhook and returns its seq once the frame is written AND fdatasync'd
    /// (group-committed with concurrent appends). `Full` past `max_bytes`, `TooLarge` past
    /// 1 GiB, `Io` when the write or the fdatasync failed — then nothing of it is kept.
    pub async fn append(&self, rec: NewRecord) -> Result<u64, SpoolError> {
        let frame = frame::encode_put(&rec)?;
        let (reply, answer) = oneshot::channel();
        let (partner, received_at_ms) = (rec.partner, rec.received_at_ms);
        let req = PutReq {
            frame,
            partner,
            received_at_ms,
            reply,
        };
        self.tx.send(Msg::Put(req)).map_err(|_| writer_gone())?;
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        answer.await.map_err(|_| writer_gone())?
    }

    /// Waits until every state change made so far (acks, dead letters, replays, purges) is
    /// written and fdatasync'd. For shutdown (SIGTERM "flush spool") and tests.
    pub async fn sync(&self) -> Result<(), SpoolError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Sync(reply)).map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// Marks `seq` delivered: it leaves the queue at once; its Ack marker is written by the
    /// next batch, not waited for (see the crate doc: a lost ack means one duplicate
    /// delivery). Unknown or already resolved seqs are ignored. `Err` only if the writer is gone.
    pub fn ack(&self, seq: u64) -> Result<(), SpoolError> {
        self.mark(Kind::Ack, seq, "")
    }

    /// Moves a pending `seq` to the dead letters with `reason` (cut to 1 KiB); no more
    /// deliveries until replayed. Ignored if `seq` is not pending.
    pub fn dead_letter(&self, seq: u64, reason: &str) -> Result<(), SpoolError> {
        self.mark(Kind::Dead, seq, reason)
    }

    /// Puts every dead letter of `partner` back in its queue, in seq order, with a fresh
    /// attempt count, due at once. Returns how many.
    pub fn replay_dead(&self, partner: &str) -> Result<usize, SpoolError> {
        let n = self.shared.index().record_dead(partner, Kind::Replay);
        self.wake_if(n > 0).map(|()| n)
    }

    /// Drops every dead letter of `partner` for good. Returns how many.
    pub fn purge_dead(&self, partner: &str) -> Result<usize, SpoolError> {
        let n = self.shared.index().record_dead(partner, Kind::Purge);
        self.wake_if(n > 0).map(|()| n)
    }

    /// The oldest pending record of `partner` if its next attempt is due at `now_ms` and the
    /// partner is not paused. Strictly FIFO: while the oldest waits for its retry, no later
    /// record is returned. The record stays pending until acked, retried or dead-lettered.
    /// A read error yields `None`; [`Spool::try_next_due`] reports it.
    pub fn next_due(&self, partner: &str, now_ms: u64) -> Option<Record> {
        self.try_next_due(partner, now_ms).ok().flatten()
    }

    /// [`Spool::next_due`] that reports a failed read (`Io`) or a frame that no longer matches
    /// its CRC (`Corrupt`).
    pub fn try_next_due(&self, partner: &str, now_ms: u64) -> Result<Option<Record>, SpoolError> {
        let loc = self.shared.index().due(partner, now_ms);
        loc.map(|loc| read(&loc)).transpose()
    }

    /// Books a failed attempt of `seq`: dead-letters it (reason `max_age`) if it was received
    /// `max_age` or longer ago, else schedules the next attempt after the policy's backoff with
    /// [`RetryPolicy::JITTER`]; `rng` yields uniform values in `[0, 1)`. `Dead` also for a seq
    /// that is no longer pending.
    pub fn retry_later(
        &self,
        seq: u64,
        now_ms: u64,
        retry: &RetryPolicy,
        rng: &mut impl FnMut() -> f64,
    ) -> RetryOutcome {
        let mut ix = self.shared.index();
        let Some(meta) = ix.recs.get_mut(&seq).filter(|m| m.dead.is_none()) else {
            return RetryOutcome::Dead;
        };
        if retry.expired(meta.received_at_ms, now_ms) {
            ix.record(Kind::Dead, seq, "max_age");
            drop(ix);
            // A stopped writer is reported by the next append; the state is already changed.
            let _ = self.wake_if(true);
            return RetryOutcome::Dead;
        }
        meta.attempts = meta.attempts.saturating_add(1);
        let at = now_ms.saturating_add(retry.backoff_ms(meta.attempts, RetryPolicy::JITTER, rng));
        meta.next_at_ms = at;
        let partner = Arc::clone(&meta.partner);
        if let Some(q) = ix.queues.get_mut(&partner) {
            q.attempts_total += 1;
        }
        RetryOutcome::Scheduled(at)
    }

    /// Every partner that has had records or a pause since the spool was opened.
    pub fn partners(&self) -> Vec<String> {
        self.shared
            .index()
            .queues
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    /// Depth, age of the oldest pending record, dead letters, bytes, attempts and pause state.
    pub fn stats(&self, partner: &str, now_ms: u64) -> PartnerStats {
        self.shared.index().stats(partner, now_ms)
    }

    /// Up to `limit` dead letters of `partner`, oldest first, with their reasons. Records that
    /// cannot be read are left out; [`Spool::try_dead`] reports them.
    pub fn dead(&self, partner: &str, limit: usize) -> Vec<(Record, String)> {
        self.try_dead(partner, limit).unwrap_or_default()
    }

    /// [`Spool::dead`] that fails on the first record that cannot be read.
    pub fn try_dead(
        &self,
        partner: &str,
        limit: usize,
    ) -> Result<Vec<(Record, String)>, SpoolError> {
        let locs: Vec<(Loc, String)> = {
            let ix = self.shared.index();
            let dead = ix
                .queues
                .get(partner)
                .map(|q| q.dead.iter().take(limit).copied().collect::<Vec<_>>());
            let reason = |s: &u64| {
                ix.recs
                    .get(s)
                    .and_then(|m| m.dead.clone())
                    .unwrap_or_default()
            };
            dead.unwrap_or_default()
                .iter()
                .filter_map(|s| Some((ix.loc(*s)?, reason(s))))
                .collect()
        };
        locs.iter()
            .map(|(loc, why)| Ok((read(loc)?, why.clone())))
            .collect()
    }

    /// Pauses (`true`) or resumes deliveries of `partner`: `next_due` returns `None` while
    /// paused. In memory only: a restart resumes every partner.
    pub fn pause(&self, partner: &str, paused: bool) {
        self.shared.index().set_paused(partner, paused);
    }

    /// Bytes of the live segment files (what `max_bytes` limits).
    pub fn used_bytes(&self) -> u64 {
        self.shared.index().used()
    }

    /// fdatasync calls made on segment files since open (group commit makes this far fewer
    /// than appends under load).
    pub fn fdatasyncs(&self) -> u64 {
        self.shared.fdatasyncs.load(Ordering::Relaxed)
    }

    fn mark(&self, kind: Kind, seq: u64, reason: &str) -> Result<(), SpoolError> {
        let queued = self.shared.index().record(kind, seq, reason);
        self.wake_if(queued)
    }

    fn wake_if(&self, queued: bool) -> Result<(), SpoolError> {
        if !queued {
            return Ok(());
        }
        self.tx.send(Msg::Wake).map_err(|_| writer_gone())
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// Reads and checks a record's frame.
pub(crate) fn read(loc: &Loc) -> Result<Record, SpoolError> {
    let mut buf = vec![0u8; loc.len as usize];
    let res = loc.file.read_exact_at(&mut buf, loc.off);
    res.map_err(|e| SpoolError::Io(format!("read spooled record at byte {}: {e}", loc.off)))?;
    let rec = frame::record_from_frame(Bytes::from(buf), loc.attempts);
    rec.map_err(|e| SpoolError::Corrupt(format!("record at byte {}: {e}", loc.off)))
}
