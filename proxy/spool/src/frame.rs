//! The on-disk encoding, owned in one place. A frame is
//! `[u32 LE payload length][u32 LE crc32c(payload)][payload]`; a payload is
//! `[u8 kind][u64 LE seq][fields…]` where a Put's fields are `u64 LE received_at_ms`, the strings
//! partner, id, method and path_and_query, a `u32 LE` header count and per header a name string
//! and a value byte string, and then the body: every remaining byte (no copy, no base64). A
//! string or byte string is `[u32 LE length][bytes]`. Dead carries one string, the reason; Ack,
//! Replay and Purge carry nothing but the seq of the Put they are about.
//!
//! Appends are encoded by the caller with a blank seq and the body's CRC already computed; the
//! writer seals the seq in and combines the CRCs, so only ~100 header bytes are hashed in the
//! writer thread however large the body is.

use bytes::Bytes;

use crate::{NewRecord, Record, SpoolError};

/// Bytes before the payload: length, then CRC.
pub(crate) const HEADER_LEN: usize = 8;
/// The largest payload written or accepted on recovery; bigger lengths are treated as garbage.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;
/// Where the seq sits in an encoded frame (after the header and the kind byte).
const SEQ_AT: usize = HEADER_LEN + 1;
/// Dead-letter reasons are cut to this many bytes so a marker stays small.
const MAX_REASON: usize = 1024;

/// What a frame records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A received webhook.
    Put = 1,
    /// Delivered upstream (2xx).
    Ack = 2,
    /// Given up on, with a reason.
    Dead = 3,
    /// Taken back from the dead letters into the delivery queue.
    Replay = 4,
    /// Dropped from the dead letters by an operator (or refused after a failed write).
    Purge = 5,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Put,
            2 => Kind::Ack,
            3 => Kind::Dead,
            4 => Kind::Replay,
            5 => Kind::Purge,
            _ => return None,
        })
    }
}

/// A Put frame waiting for its seq: `head` is header + kind + seq + fields, `body` follows it.
pub(crate) struct EncodedPut {
    head: Vec<u8>,
    body: Bytes,
    body_crc: u32,
}

impl EncodedPut {
    /// Bytes the frame takes on disk.
    pub(crate) fn frame_len(&self) -> u64 {
        (self.head.len() + self.body.len()) as u64
    }

    /// Writes `seq`, the payload length and the CRC into the header.
    pub(crate) fn seal(&mut self, seq: u64) {
        self.head[SEQ_AT..SEQ_AT + 8].copy_from_slice(&seq.to_le_bytes());
        let head_crc = crc32c::crc32c(&self.head[HEADER_LEN..]);
        let crc = crc32c::crc32c_combine(head_crc, self.body_crc, self.body.len());
        // encode_put refused payloads over MAX_PAYLOAD, so the length fits a u32.
        let len = (self.head.len() - HEADER_LEN + self.body.len()) as u32;
        self.head[0..4].copy_from_slice(&len.to_le_bytes());
        self.head[4..8].copy_from_slice(&crc.to_le_bytes());
    }

    /// The frame's bytes, in order.
    pub(crate) fn parts(&self) -> [&[u8]; 2] {
        [&self.head, &self.body]
    }
}

/// Encodes a webhook as a Put frame with a blank seq; refuses one too large for a frame.
pub(crate) fn encode_put(rec: &NewRecord) -> Result<EncodedPut, SpoolError> {
    let strings = [&rec.partner, &rec.id, &rec.method, &rec.path_and_query];
    let fields: usize = strings.iter().map(|s| 4 + s.len()).sum::<usize>()
        + 4
        + rec
            .headers
            .iter()
            .map(|(n, v)| 8 + n.len() + v.len())
            .sum::<usize>();
    let payload = 1 + 8 + 8 + fields + rec.body.len();
    if payload > MAX_PAYLOAD {
        return Err(SpoolError::TooLarge {
            bytes: payload as u64,
            max: MAX_PAYLOAD as u64,
        });
    }
    let mut head = Vec::with_capacity(HEADER_LEN + payload - rec.body.len());
    head.extend_from_slice(&[0; HEADER_LEN]);
    head.push(Kind::Put as u8);
    head.extend_from_slice(&0u64.to_le_bytes());
    head.extend_from_slice(&rec.received_at_ms.to_le_bytes());
    for s in strings {
        put_bytes(&mut head, s.as_bytes());
    }
    head.extend_from_slice(&(rec.headers.len() as u32).to_le_bytes());
    for (name, value) in &rec.headers {
        put_bytes(&mut head, name.as_bytes());
        put_bytes(&mut head, value);
    }
    Ok(EncodedPut {
        head,
        body: rec.body.clone(),
        body_crc: crc32c::crc32c(&rec.body),
    })
}

/// A complete Ack/Dead/Replay/Purge frame about `seq` (`reason` is kept for Dead only).
pub(crate) fn marker_frame(kind: Kind, seq: u64, reason: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER_LEN + 9 + 4 + reason.len().min(MAX_REASON));
    frame.extend_from_slice(&[0; HEADER_LEN]);
    frame.push(kind as u8);
    frame.extend_from_slice(&seq.to_le_bytes());
    if kind == Kind::Dead {
        put_bytes(&mut frame, clip(reason).as_bytes());
    }
    let payload = &frame[HEADER_LEN..];
    let (len, crc) = (payload.len() as u32, crc32c::crc32c(payload));
    frame[0..4].copy_from_slice(&len.to_le_bytes());
    frame[4..8].copy_from_slice(&crc.to_le_bytes());
    frame
}

/// `reason` cut to at most MAX_REASON bytes on a char boundary.
pub(crate) fn clip(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    buf.extend_from_slice(bytes);
}

/// Splits a frame header into (payload length, CRC).
pub(crate) fn parse_header(h: [u8; HEADER_LEN]) -> (usize, u32) {
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    (len as usize, u32::from_le_bytes([h[4], h[5], h[6], h[7]]))
}

/// One decoded payload, borrowing from it.
pub(crate) enum Entry<'a> {
    /// A webhook; `body_at` is where its body starts in the payload.
    Put {
        seq: u64,
        received_at_ms: u64,
        partner: &'a str,
        fields: PutFields<'a>,
        body_at: usize,
    },
    /// Ack, Dead, Replay or Purge of `seq`; `reason` is empty except for Dead.
    Marker {
        kind: Kind,
        seq: u64,
        reason: &'a str,
    },
}

/// The Put fields a delivery needs but recovery does not look at.
pub(crate) struct PutFields<'a> {
    id: &'a str,
    method: &'a str,
    path_and_query: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
}

/// Decodes a payload whose CRC already matched; the error says what is malformed.
pub(crate) fn decode(payload: &[u8]) -> Result<Entry<'_>, String> {
    let mut c = Cursor {
        buf: payload,
        pos: 0,
    };
    let kind = c.u8()?;
    let kind = Kind::from_u8(kind).ok_or_else(|| format!("unknown frame kind {kind}"))?;
    let seq = c.u64()?;
    if kind != Kind::Put {
        let reason = if kind == Kind::Dead { c.str()? } else { "" };
        return Ok(Entry::Marker { kind, seq, reason });
    }
    let received_at_ms = c.u64()?;
    let partner = c.str()?;
    let (id, method, path_and_query) = (c.str()?, c.str()?, c.str()?);
    let count = c.u32()? as usize;
    // Each header takes at least 8 bytes, so a garbage count cannot make us allocate much.
    let mut headers = Vec::with_capacity(count.min(payload.len() / 8));
    for _ in 0..count {
        headers.push((c.str()?, c.bytes()?));
    }
    let fields = PutFields {
        id,
        method,
        path_and_query,
        headers,
    };
    Ok(Entry::Put {
        seq,
        received_at_ms,
        partner,
        fields,
        body_at: c.pos,
    })
}

/// Checks a whole frame read back from disk and decodes its Put into an owned record whose
/// body is a slice of `frame` (no copy).
pub(crate) fn record_from_frame(frame: Bytes, attempts: u32) -> Result<Record, String> {
    let head: [u8; HEADER_LEN] = frame
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or("frame shorter than its header")?;
    let (len, crc) = parse_header(head);
    let payload = frame.slice(HEADER_LEN..);
    if payload.len() != len || crc32c::crc32c(&payload) != crc {
        return Err("frame fails its length or CRC check on read-back".to_owned());
    }
    let Entry::Put {
        seq,
        received_at_ms,
        partner,
        fields,
        body_at,
    } = decode(&payload)?
    else {
        return Err("expected a Put frame".to_owned());
    };
    Ok(Record {
        seq,
        partner: partner.to_owned(),
        id: fields.id.to_owned(),
        received_at_ms,
        method: fields.method.to_owned(),
        path_and_query: fields.path_and_query.to_owned(),
        headers: (fields.headers.iter())
            .map(|(n, v)| ((*n).to_owned(), v.to_vec()))
            .collect(),
        body: payload.slice(body_at..),
        attempts,
    })
}

/// Bounds-checked little-endian reader over a payload.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| format!("field of {n} bytes runs past the payload"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|e| format!("string field is not UTF-8: {e}"))
    }
}
