//! Recovery on open: read every segment in log order, check every frame's CRC, replay the
//! frames into a fresh [`Index`] (Puts − Acks − Purges, with Dead and Replay applied in order),
//! and decide what a bad frame means.
//!
//! Only the end of the log can be torn by a crash: frames are appended, and every frame before
//! an fdatasync that succeeded is intact. So in the LAST segment a partial header, a frame that
//! runs past the end of the file, a CRC mismatch in the very last frame, or a zero-filled rest
//! of file is a torn tail: the file is truncated there (and synced) and the cut is reported.
//! The frames cut were never answered with success. Any other bad frame (a CRC mismatch with
//! frames after it, anything bad in an earlier segment, a payload that passes its CRC but does
//! not decode) is `Corrupt`: opening fails rather than silently drop acknowledged webhooks.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::io_err;
use crate::frame::{self, Entry, HEADER_LEN, MAX_PAYLOAD};
use crate::index::Index;
use crate::writer::Active;
use crate::{segment, RecoveryReport, SpoolError, Truncation};

/// What [`recover`] rebuilt.
pub(crate) struct Recovered {
    pub(crate) index: Index,
    pub(crate) active: Active,
    pub(crate) next_seq: u64,
    pub(crate) report: RecoveryReport,
}

/// Rebuilds the spool state of `dir` (see the module doc); creates the first segment of an
/// empty directory.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, SpoolError> {
    let bases = segment::list(dir)?;
    let mut scan = Scan {
        index: Index::default(),
        max_seq: 0,
        frames: 0,
    };
    let mut truncated = None;
    let mut active = None;
    for (i, &base) in bases.iter().enumerate() {
        let path = segment::path(dir, base);
        let file = Arc::new(segment::open(dir, base)?);
        scan.index.add_segment(base, Arc::clone(&file), 0);
        let (len, torn) = scan.segment(&file, base, &path)?;
        if let Some((offset, reason)) = torn {
            if i + 1 != bases.len() {
                let at = format!("{} at byte {offset}", path.display());
                let why = format!("{at}: {reason}, in a segment that is not the last");
                return Err(SpoolError::Corrupt(why));
            }
            truncated = Some(cut_tail(&file, path, offset, reason)?);
        }
        scan.index.grow_segment(base, len, std::iter::empty());
        active = Some(Active { base, file, len });
    }
    let active = match active {
        Some(active) => active,
        None => first_segment(dir, &mut scan.index)?,
    };
    let (pending, dead) = scan.index.counts();
    let (segments, frames) = (bases.len().max(1), scan.frames);
    let report = RecoveryReport {
        segments,
        frames,
        pending,
        dead,
        truncated,
    };
    let next_seq = (scan.max_seq + 1).max(active.base);
    let index = scan.index;
    Ok(Recovered {
        index,
        active,
        next_seq,
        report,
    })
}

/// Truncates the torn tail of the last segment at `offset` and makes the cut durable.
fn cut_tail(
    file: &File,
    segment: PathBuf,
    offset: u64,
    reason: &str,
) -> Result<Truncation, SpoolError> {
    let bytes = file_len(file)? - offset;
    let cut = file.set_len(offset).and_then(|()| file.sync_data());
    cut.map_err(|e| io_err("truncate torn tail of", &segment, &e))?;
    let reason = reason.to_owned();
    Ok(Truncation {
        segment,
        offset,
        bytes,
        reason,
    })
}

/// Creates the first segment (seqs from 1) of an empty spool.
fn first_segment(dir: &Path, index: &mut Index) -> Result<Active, SpoolError> {
    let file = Arc::new(segment::create(dir, 1)?);
    index.add_segment(1, Arc::clone(&file), 0);
    Ok(Active {
        base: 1,
        file,
        len: 0,
    })
}

fn file_len(file: &File) -> Result<u64, SpoolError> {
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| SpoolError::Io(format!("stat segment: {e}")))
}

/// Recovery in progress.
struct Scan {
    index: Index,
    max_seq: u64,
    frames: u64,
}

/// A torn tail found in a segment: where it starts and why.
type Torn = Option<(u64, &'static str)>;

impl Scan {
    /// Replays one segment; returns the length of its valid prefix and the torn tail, if any.
    fn segment(&mut self, file: &File, base: u64, path: &Path) -> Result<(u64, Torn), SpoolError> {
        let len = file_len(file)?;
        let read_err = |e: std::io::Error| io_err("read", path, &e);
        let corrupt = |off: u64, what: &str| {
            SpoolError::Corrupt(format!("{} at byte {off}: {what}", path.display()))
        };
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let (mut off, mut payload) = (0u64, Vec::new());
        while off < len {
            let rest = len - off;
            if rest < HEADER_LEN as u64 {
                return Ok((off, Some((off, "partial frame header"))));
            }
            let mut head = [0u8; HEADER_LEN];
            reader.read_exact(&mut head).map_err(read_err)?;
            let (plen, crc) = frame::parse_header(head);
            if plen == 0 || plen > MAX_PAYLOAD {
                if zeros_from(file, off, len).map_err(read_err)? {
                    return Ok((off, Some((off, "zero-filled tail"))));
                }
                return Err(corrupt(off, "implausible frame length"));
            }
            let frame_len = (HEADER_LEN + plen) as u64;
            if frame_len > rest {
                return Ok((off, Some((off, "frame runs past the end of the file"))));
            }
            payload.resize(plen, 0);
            reader.read_exact(&mut payload).map_err(read_err)?;
            if crc32c::crc32c(&payload) != crc {
                if off + frame_len == len {
                    return Ok((off, Some((off, "CRC mismatch in the last frame"))));
                }
                return Err(corrupt(
                    off,
                    "CRC mismatch in a frame that other frames follow",
                ));
            }
            self.apply(&payload, base, (off, frame_len))
                .map_err(|m| corrupt(off, &m))?;
            off += frame_len;
        }
        Ok((off, None))
    }

    /// Replays one intact frame found at `at` = (offset, length) of segment `base`.
    fn apply(&mut self, payload: &[u8], base: u64, at: (u64, u64)) -> Result<(), String> {
        let seq = match frame::decode(payload)? {
            Entry::Put {
                seq,
                received_at_ms,
                partner,
                ..
            } => {
                if seq < base {
                    return Err(format!(
                        "Put of seq {seq} in the segment of seqs from {base}"
                    ));
                }
                self.index
                    .insert_put(seq, partner, received_at_ms, (base, at.0, at.1))?;
                seq
            }
            Entry::Marker { kind, seq, reason } => {
                self.index.apply(kind, seq, reason);
                self.index.grow_segment(base, 0, std::iter::once(seq));
                seq
            }
        };
        self.max_seq = self.max_seq.max(seq);
        self.frames += 1;
        Ok(())
    }
}

/// Whether every byte of `file` from `off` to `len` is zero (a preallocated or zero-filled tail).
fn zeros_from(file: &File, off: u64, len: u64) -> std::io::Result<bool> {
    let mut buf = vec![0u8; 64 << 10];
    let mut at = off;
    while at < len {
        let n = buf.len().min((len - at) as usize);
        file.read_exact_at(&mut buf[..n], at)?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}
