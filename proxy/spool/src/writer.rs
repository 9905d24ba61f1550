//! The single writer: a dedicated thread that owns the active segment and group-commits. It
//! blocks for the first request, takes every other one already queued (up to 64 MiB), writes
//! the queued marker frames and the admitted Puts, calls fdatasync once, and only then
//! publishes the Puts to the index and answers every waiter. While one fdatasync runs, new
//! appends queue up and share the next one.
//!
//! On a failed write or fdatasync, every waiter of the batch gets `Io`, the file is set back
//! to its pre-batch length, and the markers are queued again. After an fdatasync error (or a
//! failed truncate) the file is not trusted: the next batch starts a new segment, and Purge
//! markers for the refused seqs go with it, in case the refused frames reached the disk anyway.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use crate::error::io_err;
use crate::frame::{marker_frame, EncodedPut, Kind};
use crate::index::{Index, Marker};
use crate::{segment, SpoolError};

/// A batch stops taking queued appends at about this many bytes.
const MAX_BATCH_BYTES: u64 = 64 << 20;
/// Frames smaller than this are copied into one buffer so a batch is a few large writes.
const STAGE_BYTES: usize = 256 << 10;

/// State shared by the writer thread and the [`crate::Spool`] handle.
#[derive(Default)]
pub(crate) struct Shared {
    index: Mutex<Index>,
    /// Held by the writer while it collects and commits a batch; tests hold it to make a
    /// batch form deterministically.
    pub(crate) gate: Mutex<()>,
    /// fdatasync calls made on segment files (test hook, also worth a metric).
    pub(crate) fdatasyncs: AtomicU64,
    /// Appends handed to the writer so far (test hook).
    pub(crate) queued: AtomicU64,
}

impl Shared {
    pub(crate) fn new(index: Index) -> Shared {
        let index = Mutex::new(index);
        Shared {
            index,
            ..Shared::default()
        }
    }

    /// The index; a panic elsewhere while it was held does not make it unusable.
    pub(crate) fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the writer is asked to do.
pub(crate) enum Msg {
    /// Append a webhook.
    Put(PutReq),
    /// Markers were queued in the index; write them.
    Wake,
    /// Answer once everything queued so far is durable.
    Sync(oneshot::Sender<Result<(), SpoolError>>),
    /// Write what is queued, then exit.
    Stop,
}

/// One append waiting for its seq.
pub(crate) struct PutReq {
    pub(crate) frame: EncodedPut,
    pub(crate) partner: String,
    pub(crate) received_at_ms: u64,
    pub(crate) reply: oneshot::Sender<Result<u64, SpoolError>>,
}

/// The segment being appended to.
pub(crate) struct Active {
    pub(crate) base: u64,
    pub(crate) file: Arc<File>,
    pub(crate) len: u64,
}

/// See the module doc.
pub(crate) struct Writer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) rx: Receiver<Msg>,
    pub(crate) dir: PathBuf,
    pub(crate) active: Active,
    pub(crate) next_seq: u64,
    pub(crate) max_bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) roll_next: bool,
}

#[derive(Default)]
struct Batch {
    puts: Vec<PutReq>,
    syncs: Vec<oneshot::Sender<Result<(), SpoolError>>>,
    bytes: u64,
    stop: bool,
}

impl Batch {
    fn absorb(&mut self, msg: Msg) {
        match msg {
            Msg::Put(p) => {
                self.bytes += p.frame.frame_len();
                self.puts.push(p);
            }
            Msg::Wake => {}
            Msg::Sync(tx) => self.syncs.push(tx),
            Msg::Stop => self.stop = true,
        }
    }

    fn answer_syncs(&mut self, res: &Result<(), SpoolError>) {
        for tx in self.syncs.drain(..) {
            let _ = tx.send(res.clone());
        }
    }
}

/// Which step of a batch failed.
enum Failure {
    Write(io::Error),
    Sync(io::Error),
}

impl Writer {
    /// Serves requests until `Stop` or until every sender is gone.
    pub(crate) fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        while let Ok(first) = self.rx.recv() {
            let _gate = shared.gate.lock().unwrap_or_else(PoisonError::into_inner);
            let mut batch = Batch::default();
            batch.absorb(first);
            while !batch.stop && batch.bytes < MAX_BATCH_BYTES {
                match self.rx.try_recv() {
                    Ok(msg) => batch.absorb(msg),
                    Err(_) => break,
                }
            }
            let stop = batch.stop;
            self.commit(batch);
            if stop {
                return;
            }
        }
        self.commit(Batch::default());
    }

    /// Writes one batch durably and answers its waiters (see the module doc).
    fn commit(&mut self, mut batch: Batch) {
        let writes = !batch.puts.is_empty() || !self.shared.index().markers.is_empty();
        if let Err(e) = self.roll_if_needed(writes) {
            for put in batch.puts.drain(..) {
                let _ = put.reply.send(Err(e.clone()));
            }
            return batch.answer_syncs(&Err(e));
        }
        let (markers, doomed, used) = {
            let mut ix = self.shared.index();
            let doomed = ix.plan_reclaim(self.active.base);
            (ix.take_markers(), doomed, ix.used())
        };
        let marker_bytes: u64 = markers.iter().map(|m| m.frame.len() as u64).sum();
        let puts = self.admit(std::mem::take(&mut batch.puts), used + marker_bytes);
        let pre = self.active.len;
        if !markers.is_empty() || !puts.is_empty() {
            if let Err(failure) = self.write_and_sync(&markers, &puts) {
                let err = self.undo(failure, pre, markers, puts);
                return batch.answer_syncs(&Err(err));
            }
            self.publish(pre, &markers, puts);
        }
        self.unlink(doomed);
        batch.answer_syncs(&Ok(()));
    }

    /// Gives each append that fits under `max_bytes` its seq; answers the others `Full`.
    fn admit(&mut self, reqs: Vec<PutReq>, mut used: u64) -> Vec<(u64, PutReq)> {
        let mut admitted = Vec::with_capacity(reqs.len());
        for mut req in reqs {
            let len = req.frame.frame_len();
            if used + len > self.max_bytes {
                let max_bytes = self.max_bytes;
                let _ = req.reply.send(Err(SpoolError::Full { max_bytes }));
                continue;
            }
            used += len;
            let seq = self.next_seq;
            self.next_seq += 1;
            req.frame.seal(seq);
            admitted.push((seq, req));
        }
        admitted
    }

    fn write_and_sync(
        &mut self,
        markers: &[Marker],
        puts: &[(u64, PutReq)],
    ) -> Result<(), Failure> {
        let file = Arc::clone(&self.active.file);
        let mut out = Stager {
            file: &file,
            off: self.active.len,
            buf: Vec::new(),
        };
        let frames = markers.iter().map(|m| m.frame.as_slice());
        let puts = puts.iter().flat_map(|(_, p)| p.frame.parts());
        for bytes in frames.chain(puts) {
            out.push(bytes).map_err(Failure::Write)?;
        }
        out.flush().map_err(Failure::Write)?;
        self.active.len = out.off;
        self.fdatasync().map_err(Failure::Sync)
    }

    fn fdatasync(&self) -> io::Result<()> {
        self.shared.fdatasyncs.fetch_add(1, Ordering::Relaxed);
        self.active.file.sync_data()
    }

    /// Makes a durable batch visible: segment length, markers, and the Puts as pending.
    fn publish(&mut self, pre: u64, markers: &[Marker], puts: Vec<(u64, PutReq)>) {
        let base = self.active.base;
        let mut ix = self.shared.index();
        let seqs = markers.iter().map(|m| m.seq);
        ix.grow_segment(base, self.active.len - pre, seqs);
        let mut off = pre + markers.iter().map(|m| m.frame.len() as u64).sum::<u64>();
        for (seq, req) in puts {
            let len = req.frame.frame_len();
            let put = ix.insert_put(seq, &req.partner, req.received_at_ms, (base, off, len));
            let _ = req
                .reply
                .send(put.map(|()| seq).map_err(SpoolError::Corrupt));
            off += len;
        }
    }

    /// Takes a failed batch back off the disk and refuses its appends; returns the error.
    fn undo(
        &mut self,
        failure: Failure,
        pre: u64,
        markers: Vec<Marker>,
        puts: Vec<(u64, PutReq)>,
    ) -> SpoolError {
        let path = segment::path(&self.dir, self.active.base);
        // A failed write never reached fdatasync: truncating it away is reliable. A failed
        // fdatasync may have left pages in an unknown state: that file is done with.
        let (err, trusted) = match &failure {
            Failure::Write(e) => (io_err("write", &path, e), true),
            Failure::Sync(e) => (io_err("fdatasync", &path, e), false),
        };
        let truncated = self
            .active
            .file
            .set_len(pre)
            .and_then(|()| self.fdatasync());
        self.active.len = pre;
        let mut requeue = markers;
        if !trusted || truncated.is_err() {
            self.roll_next = true;
            let purge = |(seq, _): &(u64, PutReq)| Marker {
                seq: *seq,
                frame: marker_frame(Kind::Purge, *seq, ""),
            };
            requeue.extend(puts.iter().map(purge));
        }
        self.shared.index().requeue_markers(requeue);
        for (_, req) in puts {
            let _ = req.reply.send(Err(err.clone()));
        }
        err
    }

    /// Starts a new segment before a batch that `writes` when the active one is full or no
    /// longer trusted.
    fn roll_if_needed(&mut self, writes: bool) -> Result<(), SpoolError> {
        let full = self.active.len > 0 && self.active.len >= self.segment_bytes;
        if !writes || !(self.roll_next || full) {
            return Ok(());
        }
        let base = self.next_seq.max(self.active.base + 1);
        // Even if creating fails half-way, the next try must not reuse the name.
        self.next_seq = base + 1;
        let file = Arc::new(segment::create(&self.dir, base)?);
        self.next_seq = base;
        self.shared.index().add_segment(base, Arc::clone(&file), 0);
        self.active = Active { base, file, len: 0 };
        self.roll_next = false;
        Ok(())
    }

    /// Deletes planned segments now that the carried markers are durable.
    fn unlink(&self, doomed: Vec<u64>) {
        let gone: Vec<u64> = doomed
            .into_iter()
            .filter(|&b| segment::remove(&self.dir, b))
            .collect();
        // Forgotten only once the deletion is durable; otherwise planned (and carried) again.
        if gone.is_empty() || segment::sync_dir(&self.dir).is_err() {
            return;
        }
        let mut ix = self.shared.index();
        for base in gone {
            ix.remove_segment(base);
        }
    }
}

/// Positional writes at the end of the active segment, small frames coalesced.
struct Stager<'a> {
    file: &'a File,
    off: u64,
    buf: Vec<u8>,
}

impl Stager<'_> {
    fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > STAGE_BYTES {
            self.flush()?;
        }
        if bytes.len() >= STAGE_BYTES {
            self.file.write_all_at(bytes, self.off)?;
            self.off += bytes.len() as u64;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all_at(&self.buf, self.off)?;
            self.off += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }
}
