//! Guest linear-memory access for the ABI: bounds-checked reads of `(ptr, len)` pairs and the
//! http-wasm "write only if it fits in `buf_limit`, always return the needed length" convention,
//! for single values and for NUL-terminated sequences (`count << 32 | len`). Every offset is
//! checked; a bad one traps the guest, never touches the host.

use std::ops::Range;

use wasmtime::{Caller, Extern, Result};

use crate::error::abi_err;
use crate::state::CallState;

/// The guest's memory and the store data, borrowed together.
pub(crate) fn split<'a>(
    caller: &'a mut Caller<'_, CallState>,
) -> Result<(&'a mut [u8], &'a mut CallState)> {
    let memory = match caller.data().memory {
        Some(m) => m,
        // Only a wasm `start` function runs before the host has recorded the memory.
        None => caller
            .get_export("memory")
            .and_then(Extern::into_memory)
            .ok_or_else(|| abi_err("the guest exports no memory"))?,
    };
    Ok(memory.data_and_store_mut(caller))
}

/// The byte range `ptr .. ptr + len` if it lies inside a memory of `size` bytes.
fn range(size: usize, ptr: i32, len: i32) -> Result<Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len as u32 as usize)
        .filter(|&end| end <= size);
    end.map(|end| start..end).ok_or_else(|| {
        abi_err(format!(
            "buffer {start}+{} is outside guest memory",
            len as u32
        ))
    })
}

/// The guest bytes at `ptr .. ptr + len`.
pub(crate) fn read(data: &[u8], ptr: i32, len: i32) -> Result<&[u8]> {
    let r = range(data.len(), ptr, len)?;
    Ok(&data[r])
}

/// Writes `value` at `buf` if it is no longer than `limit`; returns its length either way.
pub(crate) fn write_if_fits(data: &mut [u8], buf: i32, limit: i32, value: &[u8]) -> Result<i32> {
    let len = as_i32(value.len())?;
    if value.len() <= limit as u32 as usize {
        let r = range(data.len(), buf, len)?;
        data[r].copy_from_slice(value);
    }
    Ok(len)
}

/// Writes `items` NUL-terminated at `buf` if the whole sequence fits in `limit`; returns
/// `count << 32 | len` (len including the NULs) either way, 0 for an empty sequence.
pub(crate) fn write_seq<'v, I>(data: &mut [u8], buf: i32, limit: i32, items: I) -> Result<i64>
where
    I: Iterator<Item = &'v [u8]> + Clone,
{
    let (count, len) = items
        .clone()
        .fold((0usize, 0usize), |(c, l), v| (c + 1, l + v.len() + 1));
    let (count32, len32) = (as_i32(count)?, as_i32(len)?);
    if len > 0 && len <= limit as u32 as usize {
        let r = range(data.len(), buf, len32)?;
        let mut at = r.start;
        for v in items {
            data[at..at + v.len()].copy_from_slice(v);
            data[at + v.len()] = 0;
            at += v.len() + 1;
        }
    }
    Ok((i64::from(count32) << 32) | i64::from(len32))
}

/// A length as the ABI's i32.
pub(crate) fn as_i32(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| abi_err("value too large for the ABI"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_if_fits_writes_only_when_it_fits() {
        let mut mem = [0u8; 16];
        assert_eq!(write_if_fits(&mut mem, 2, 3, b"GET").ok(), Some(3));
        assert_eq!(&mem[2..5], b"GET");
        let mut mem = [0u8; 16];
        assert_eq!(write_if_fits(&mut mem, 2, 2, b"GET").ok(), Some(3));
        assert_eq!(mem, [0u8; 16]);
        assert!(write_if_fits(&mut mem, 14, 8, b"GET").is_err());
        assert!(read(&mem, -1, 2).is_err());
        assert!(read(&mem, 16, 0).is_ok());
    }

    #[test]
    fn write_seq_encodes_count_and_len() {
        let mut mem = [9u8; 16];
        let items = [b"date".as_slice(), b"etag".as_slice()];
        assert_eq!(
            write_seq(&mut mem, 1, 9, items.iter().copied()).ok(),
            Some((2 << 32) | 10)
        );
        assert_eq!(mem[1], 9, "nothing written when it does not fit");
        assert_eq!(
            write_seq(&mut mem, 1, 10, items.iter().copied()).ok(),
            Some((2 << 32) | 10)
        );
        assert_eq!(&mem[1..11], b"date\0etag\0");
        assert_eq!(write_seq(&mut mem, 0, 0, std::iter::empty()).ok(), Some(0));
    }
}
