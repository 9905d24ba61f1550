//! Chunked transfer coding (RFC 9112 §7.1), strictly: hex sizes of at most 15 digits,
//! extensions of visible characters, CRLF everywhere (bare CR or LF refused), trailers read
//! and dropped. [`ChunkedScanner::feed`] finds where a body ends; [`ChunkedScanner::step`]
//! decodes it.

use super::HeadError;

/// Follows a chunked body byte by byte (without copying) to find where it ends.
#[derive(Debug, Clone, Default)]
pub struct ChunkedScanner {
    state: Chunk,
    size: u64,
    digits: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Chunk {
    #[default]
    Size,
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    Trailer,
    TrailerLf,
    FinalLf,
}

/// One step of decoding a chunked body (see [`ChunkedScanner::step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The first `n` bytes of the input are body data.
    Data(usize),
    /// The first `n` bytes of the input were framing, consumed.
    Framing(usize),
    /// The body ended after the first `n` bytes of the input.
    End(usize),
}

impl ChunkedScanner {
    /// Decodes from the front of `buf`: data bytes to pass on, framing bytes consumed, or the
    /// end of the body; the same rules as [`ChunkedScanner::feed`]. An empty `buf` yields
    /// `Framing(0)` (more input needed).
    pub fn step(&mut self, buf: &[u8]) -> Result<Step, HeadError> {
        if self.state == Chunk::Data && !buf.is_empty() {
            let take = buf
                .len()
                .min(usize::try_from(self.size).unwrap_or(usize::MAX));
            self.size -= take as u64;
            if self.size == 0 {
                self.state = Chunk::DataCr;
            }
            return Ok(Step::Data(take));
        }
        for i in 0..buf.len() {
            if let Some(n) = self.feed(&buf[i..=i])? {
                debug_assert_eq!(n, 1);
                return Ok(Step::End(i + 1));
            }
            if self.state == Chunk::Data {
                return Ok(Step::Framing(i + 1));
            }
        }
        Ok(Step::Framing(buf.len()))
    }

    /// Consumes `buf`; returns `Some(n)` when the body ends after `n` bytes of it, `None` when
    /// all of `buf` belongs to the body and more is needed.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Option<usize>, HeadError> {
        let bad = |m| Err(HeadError::Malformed(m));
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            match self.state {
                Chunk::Size => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        self.digits += 1;
                        if self.digits > 15 {
                            return bad("chunk size too large");
                        }
                        let d = (b as char).to_digit(16).unwrap_or(0);
                        self.size = self.size * 16 + u64::from(d);
                    }
                    b';' if self.digits > 0 => self.state = Chunk::Ext,
                    b'\r' if self.digits > 0 => self.state = Chunk::SizeLf,
                    _ => return bad("invalid chunk size"),
                },
                Chunk::Ext => match b {
                    b'\r' => self.state = Chunk::SizeLf,
                    b'\t' | 0x20..=0x7e | 0x80..=0xff => {}
                    _ => return bad("invalid chunk extension"),
                },
                Chunk::SizeLf => {
                    if b != b'\n' {
                        return bad("bare CR in chunk size line");
                    }
                    self.state = if self.size == 0 {
                        Chunk::TrailerStart
                    } else {
                        Chunk::Data
                    };
                }
                Chunk::Data => {
                    let take =
                        (buf.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = Chunk::DataCr;
                    }
                    continue;
                }
                Chunk::DataCr => {
                    self.state = expect(b, b'\r', Chunk::DataLf, "chunk data longer than its size")?
                }
                Chunk::DataLf => {
                    self.state = expect(b, b'\n', Chunk::Size, "bare CR after chunk data")?;
                    self.digits = 0;
                }
                Chunk::TrailerStart => match b {
                    b'\r' => self.state = Chunk::FinalLf,
                    b'\n' | 0 => return bad("bare LF in trailer"),
                    _ => self.state = Chunk::Trailer,
                },
                Chunk::Trailer => match b {
                    b'\r' => self.state = Chunk::TrailerLf,
                    b'\n' | 0 => return bad("bare LF in trailer"),
                    _ => {}
                },
                Chunk::TrailerLf => {
                    self.state = expect(b, b'\n', Chunk::TrailerStart, "bare CR in trailer")?
                }
                Chunk::FinalLf => {
                    if b != b'\n' {
                        return bad("bare CR at the end of a chunked body");
                    }
                    *self = ChunkedScanner::default();
                    return Ok(Some(i + 1));
                }
            }
            i += 1;
        }
        Ok(None)
    }
}

/// The one byte a framing state allows, and the state it leads to.
fn expect(b: u8, want: u8, next: Chunk, why: &'static str) -> Result<Chunk, HeadError> {
    if b == want {
        Ok(next)
    } else {
        Err(HeadError::Malformed(why))
    }
}
