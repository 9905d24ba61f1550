//! Space reclamation. A segment other than the active one is deleted once every Put in it is
//! acked or purged. Its marker frames may still matter though: a Dead marker about a record in
//! an older segment, or an Ack of a Put that an older segment still holds. Before deleting, the
//! current state of every such record is written again (carried) into the active segment in the
//! same batch, and the file is unlinked only after that batch's fdatasync, so a crash at any
//! point recovers the same state.

use std::collections::HashSet;

use crate::frame::{marker_frame, Kind};
use crate::index::{Index, Marker};

impl Index {
    /// Picks the segments the coming batch may delete (all but `active` with no unresolved
    /// Put) and queues the markers to carry out of them. The caller deletes them only after
    /// the batch is durable; until then they stay registered, and are planned again next time.
    pub(crate) fn plan_reclaim(&mut self, active: u64) -> Vec<u64> {
        let doomed: Vec<u64> = (self.segs.iter())
            .filter(|(base, seg)| **base != active && seg.unresolved == 0)
            .map(|(base, _)| *base)
            .collect();
        let mut seen = HashSet::new();
        let mut carried = Vec::new();
        for seg in doomed.iter().filter_map(|base| self.segs.get(base)) {
            for &seq in &seg.marker_seqs {
                if !seen.insert(seq) {
                    continue;
                }
                if let Some(frame) = self.carry(seq, &doomed) {
                    carried.push(Marker { seq, frame });
                }
            }
        }
        self.markers.extend(carried);
        doomed
    }

    /// The marker that restates `seq`'s state, if a segment that stays still holds its Put.
    fn carry(&self, seq: u64, doomed: &[u64]) -> Option<Vec<u8>> {
        if let Some(meta) = self.recs.get(&seq) {
            // Unresolved: its Put is in a segment that stays (it has an unresolved record).
            return Some(match &meta.dead {
                Some(reason) => marker_frame(Kind::Dead, seq, reason),
                None => marker_frame(Kind::Replay, seq, ""),
            });
        }
        // Resolved: an Ack stops the Put from coming back if its segment outlives this one.
        let (base, seg) = self.segs.range(..=seq).next_back()?;
        let holds = seg.end.is_none_or(|end| seq < end);
        (holds && !doomed.contains(base)).then(|| marker_frame(Kind::Ack, seq, ""))
    }
}
