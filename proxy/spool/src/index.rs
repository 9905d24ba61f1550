//! The in-memory view of the log, rebuilt by recovery and kept in step by the writer: every
//! unresolved record (pending or dead) with where its frame lies, one FIFO queue per partner,
//! the live segments with how many unresolved Puts each still holds, and the marker frames
//! (Ack, Dead, Replay, Purge) waiting for the writer's next batch. State changes are applied
//! here first and reach the disk with that batch; [`Index::apply`] is the one state machine,
//! shared by recovery (replaying frames) and the live API (which also queues the frame).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::sync::Arc;

use crate::frame::{self, Kind};
use crate::PartnerStats;

/// One unresolved record.
pub(crate) struct Meta {
    pub(crate) partner: Arc<str>,
    /// First seq of the segment holding the Put frame.
    pub(crate) seg: u64,
    pub(crate) off: u64,
    pub(crate) len: u64,
    pub(crate) received_at_ms: u64,
    /// Failed delivery attempts since it was (re)queued; in memory only.
    pub(crate) attempts: u32,
    pub(crate) next_at_ms: u64,
    /// Some(reason) once dead-lettered.
    pub(crate) dead: Option<String>,
}

/// One partner's records.
#[derive(Default)]
pub(crate) struct Queue {
    pub(crate) pending: BTreeSet<u64>,
    pub(crate) dead: BTreeSet<u64>,
    pub(crate) paused: bool,
    pub(crate) attempts_total: u64,
    pub(crate) bytes: u64,
}

/// One live segment file.
pub(crate) struct Seg {
    pub(crate) file: Arc<File>,
    pub(crate) len: u64,
    /// Puts in this segment not yet acked or purged.
    pub(crate) unresolved: usize,
    /// Seqs named by marker frames in this segment (needed to carry them when it is deleted).
    pub(crate) marker_seqs: Vec<u64>,
    /// First seq of the next segment: every Put in this one has a seq below it.
    pub(crate) end: Option<u64>,
}

/// A marker frame waiting to be written.
pub(crate) struct Marker {
    pub(crate) seq: u64,
    pub(crate) frame: Vec<u8>,
}

/// Where a record's frame lies: enough to read it back without holding the lock.
pub(crate) struct Loc {
    pub(crate) file: Arc<File>,
    pub(crate) off: u64,
    pub(crate) len: u64,
    pub(crate) attempts: u32,
}

/// See the module doc.
#[derive(Default)]
pub(crate) struct Index {
    pub(crate) recs: HashMap<u64, Meta>,
    pub(crate) queues: BTreeMap<Arc<str>, Queue>,
    pub(crate) segs: BTreeMap<u64, Seg>,
    pub(crate) markers: Vec<Marker>,
    used: u64,
}

impl Index {
    /// Bytes of all live segment files.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Registers a segment that now follows every other one.
    pub(crate) fn add_segment(&mut self, base: u64, file: Arc<File>, len: u64) {
        if let Some((_, last)) = self.segs.iter_mut().next_back() {
            last.end = Some(base);
        }
        let marker_seqs = Vec::new();
        let (unresolved, end) = (0, None);
        let seg = Seg {
            file,
            len,
            unresolved,
            marker_seqs,
            end,
        };
        self.segs.insert(base, seg);
        self.used += len;
    }

    /// Forgets a deleted segment.
    pub(crate) fn remove_segment(&mut self, base: u64) {
        if let Some(seg) = self.segs.remove(&base) {
            self.used -= seg.len;
        }
    }

    /// Accounts `bytes` written at the end of segment `base`, holding markers about `seqs`.
    pub(crate) fn grow_segment(&mut self, base: u64, bytes: u64, seqs: impl Iterator<Item = u64>) {
        if let Some(seg) = self.segs.get_mut(&base) {
            seg.len += bytes;
            seg.marker_seqs.extend(seqs);
            self.used += bytes;
        }
    }

    /// The queue of `partner` (created on first use) and its shared name.
    fn queue_mut(&mut self, partner: &str) -> (Arc<str>, &mut Queue) {
        let key = match self.queues.get_key_value(partner) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(partner),
        };
        let q = self.queues.entry(Arc::clone(&key)).or_default();
        (key, q)
    }

    /// Adds a durable Put as pending; a seq seen twice means the log is corrupt.
    pub(crate) fn insert_put(
        &mut self,
        seq: u64,
        partner: &str,
        received_at_ms: u64,
        at: (u64, u64, u64),
    ) -> Result<(), String> {
        let (seg, off, len) = at;
        if self.recs.contains_key(&seq) {
            return Err(format!("seq {seq} is written twice"));
        }
        let (partner, q) = self.queue_mut(partner);
        q.pending.insert(seq);
        q.bytes += len;
        if let Some(s) = self.segs.get_mut(&seg) {
            s.unresolved += 1;
        }
        let (attempts, next_at_ms, dead) = (0, 0, None);
        let meta = Meta {
            partner,
            seg,
            off,
            len,
            received_at_ms,
            attempts,
            next_at_ms,
            dead,
        };
        self.recs.insert(seq, meta);
        Ok(())
    }

    /// Applies a marker to the state; false if it changes nothing (unknown seq, or a Dead of a
    /// dead record, a Replay of a pending one).
    pub(crate) fn apply(&mut self, kind: Kind, seq: u64, reason: &str) -> bool {
        let Some(meta) = self.recs.get_mut(&seq) else {
            return false;
        };
        let q = self.queues.get_mut(&meta.partner);
        let Some(q) = q else { return false };
        match kind {
            Kind::Put => false,
            Kind::Ack | Kind::Purge => {
                let meta = self.recs.remove(&seq);
                let Some(meta) = meta else { return false };
                q.pending.remove(&seq);
                q.dead.remove(&seq);
                q.bytes -= meta.len;
                if let Some(s) = self.segs.get_mut(&meta.seg) {
                    s.unresolved -= 1;
                }
                true
            }
            Kind::Dead if meta.dead.is_none() => {
                meta.dead = Some(frame::clip(reason).to_owned());
                q.pending.remove(&seq);
                q.dead.insert(seq)
            }
            Kind::Replay if meta.dead.is_some() => {
                (meta.dead, meta.attempts, meta.next_at_ms) = (None, 0, 0);
                q.dead.remove(&seq);
                q.pending.insert(seq)
            }
            Kind::Dead | Kind::Replay => false,
        }
    }

    /// Applies a marker and, if it changed anything, queues its frame; true if queued.
    pub(crate) fn record(&mut self, kind: Kind, seq: u64, reason: &str) -> bool {
        if !self.apply(kind, seq, reason) {
            return false;
        }
        let frame = frame::marker_frame(kind, seq, reason);
        self.markers.push(Marker { seq, frame });
        true
    }

    /// Applies `kind` (Replay or Purge) to every dead record of `partner`; returns how many.
    pub(crate) fn record_dead(&mut self, partner: &str, kind: Kind) -> usize {
        let seqs: Vec<u64> = match self.queues.get(partner) {
            Some(q) => q.dead.iter().copied().collect(),
            None => return 0,
        };
        seqs.into_iter()
            .filter(|&s| self.record(kind, s, ""))
            .count()
    }

    /// Moves every queued marker frame out, oldest first.
    pub(crate) fn take_markers(&mut self) -> Vec<Marker> {
        std::mem::take(&mut self.markers)
    }

    /// Puts markers back in front of those queued since they were taken.
    pub(crate) fn requeue_markers(&mut self, mut front: Vec<Marker>) {
        front.append(&mut self.markers);
        self.markers = front;
    }

    /// Where `seq`'s frame lies, if it is unresolved.
    pub(crate) fn loc(&self, seq: u64) -> Option<Loc> {
        let meta = self.recs.get(&seq)?;
        let file = Arc::clone(&self.segs.get(&meta.seg)?.file);
        let (off, len, attempts) = (meta.off, meta.len, meta.attempts);
        Some(Loc {
            file,
            off,
            len,
            attempts,
        })
    }

    /// The oldest pending record of `partner` if its next attempt is due and the queue is not
    /// paused. Never a later record: the head of the queue blocks the rest (FIFO).
    pub(crate) fn due(&self, partner: &str, now_ms: u64) -> Option<Loc> {
        let q = self.queues.get(partner).filter(|q| !q.paused)?;
        let seq = *q.pending.first()?;
        let due = self.recs.get(&seq).is_some_and(|m| m.next_at_ms <= now_ms);
        if due {
            self.loc(seq)
        } else {
            None
        }
    }

    /// Depth, age, dead letters, bytes and attempts of one partner (zeros if unknown).
    pub(crate) fn stats(&self, partner: &str, now_ms: u64) -> PartnerStats {
        let Some(q) = self.queues.get(partner) else {
            return PartnerStats::default();
        };
        let oldest = q.pending.first().and_then(|s| self.recs.get(s));
        PartnerStats {
            depth: q.pending.len(),
            oldest_age_ms: oldest.map_or(0, |m| now_ms.saturating_sub(m.received_at_ms)),
            dead: q.dead.len(),
            bytes: q.bytes,
            attempts_total: q.attempts_total,
            paused: q.paused,
        }
    }

    /// Pauses or resumes deliveries of `partner`.
    pub(crate) fn set_paused(&mut self, partner: &str, paused: bool) {
        self.queue_mut(partner).1.paused = paused;
    }

    /// (pending, dead) over all partners.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let dead = self.queues.values().map(|q| q.dead.len()).sum::<usize>();
        (self.recs.len() - dead, dead)
    }
}
