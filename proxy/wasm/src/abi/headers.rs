//! The header half of the ABI: `get_header_names`, `get_header_values`, `set_header_value`,
//! `add_header_value`, `remove_header` on kind 0 (request) and 1 (response being written).
//! Trailer kinds (2, 3) read as empty and trap on writes, as the ABI requires of a host without
//! trailers. Names are matched ASCII case-insensitively and stored lower-case; names must be
//! tokens and values free of control bytes (HTAB aside), so what a guest sets is always a valid
//! header. Writes to `content-length` and `transfer-encoding` are ignored: the proxy frames
//! messages itself.

use wasmtime::{Caller, Result};

use super::mem::{read, split, write_seq};
use crate::error::abi_err;
use crate::limits::{MAX_HEADERS, MAX_HEADER_BYTES};
use crate::state::CallState;

type Fields = Vec<(String, Vec<u8>)>;

/// The fields of `kind` for reading; `None` for the (empty) trailers.
fn fields(state: &CallState, kind: i32) -> Result<Option<&Fields>> {
    match kind {
        0 => Ok(Some(&state.req.headers)),
        1 => Ok(Some(&state.resp.headers)),
        2 | 3 => Ok(None),
        _ => Err(abi_err(format!("unknown header kind {kind}"))),
    }
}

/// `get_header_names(kind, buf, buf_limit) -> count_len`: distinct names, first-seen order.
pub(crate) fn get_names(
    mut caller: Caller<'_, CallState>,
    kind: i32,
    buf: i32,
    limit: i32,
) -> Result<i64> {
    let (data, state) = split(&mut caller)?;
    let Some(h) = fields(state, kind)? else {
        return Ok(0);
    };
    let names = h
        .iter()
        .enumerate()
        .filter(|(i, (n, _))| !h[..*i].iter().any(|(m, _)| m.eq_ignore_ascii_case(n)))
        .map(|(_, (n, _))| n.as_bytes());
    write_seq(data, buf, limit, names)
}

/// `get_header_values(kind, name, name_len, buf, buf_limit) -> count_len`.
pub(crate) fn get_values(
    mut caller: Caller<'_, CallState>,
    kind: i32,
    name: i32,
    name_len: i32,
    buf: i32,
    limit: i32,
) -> Result<i64> {
    let (data, state) = split(&mut caller)?;
    let Some(h) = fields(state, kind)? else {
        return Ok(0);
    };
    let wanted = read(data, name, name_len)?;
    // Resolve the guest's name to one stored on the host, so guest memory is free to be written.
    let Some((stored, _)) = h
        .iter()
        .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(wanted))
    else {
        return Ok(0);
    };
    let values = h
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(stored))
        .map(|(_, v)| v.as_slice());
    write_seq(data, buf, limit, values)
}

/// What a header write does.
#[derive(Clone, Copy)]
pub(crate) enum Write {
    Set,
    Add,
}

/// `set_header_value` / `add_header_value(kind, name, name_len, value, value_len)`. A set
/// replaces the first field of that name in place and drops the others; an add appends.
pub(crate) fn write(
    mut caller: Caller<'_, CallState>,
    op: Write,
    kind: i32,
    (name, name_len): (i32, i32),
    (value, value_len): (i32, i32),
) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    let name = valid_name(read(data, name, name_len)?)?;
    let value = valid_value(read(data, value, value_len)?)?;
    if name.len() + value.len() > MAX_HEADER_BYTES {
        return Err(abi_err(format!(
            "header longer than {MAX_HEADER_BYTES} bytes"
        )));
    }
    if is_framing(name) {
        return Ok(());
    }
    state.charge(name.len() + value.len())?;
    let mut edit = state.headers_mut(kind)?;
    let first = match op {
        Write::Set => edit
            .fields
            .iter()
            .position(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name)),
        Write::Add => None,
    };
    if let Some(i) = first {
        edit.replace_value(i, value.to_vec());
        edit.remove_named(name, i + 1);
    } else if edit.fields.len() >= MAX_HEADERS {
        return Err(abi_err(format!("more than {MAX_HEADERS} header fields")));
    } else {
        let lower = name
            .iter()
            .map(|b| char::from(b.to_ascii_lowercase()))
            .collect();
        edit.push((lower, value.to_vec()));
    }
    Ok(())
}

/// `remove_header(kind, name, name_len)`.
pub(crate) fn remove(
    mut caller: Caller<'_, CallState>,
    kind: i32,
    name: i32,
    name_len: i32,
) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    let name = read(data, name, name_len)?;
    if is_framing(name) {
        return Ok(());
    }
    state.headers_mut(kind)?.remove_named(name, 0);
    Ok(())
}

/// A header name: a non-empty RFC 9110 token.
fn valid_name(name: &[u8]) -> Result<&[u8]> {
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if name.is_empty() || !name.iter().all(token) {
        let shown = String::from_utf8_lossy(name);
        return Err(abi_err(format!("invalid header name {shown:?}")));
    }
    Ok(name)
}

/// A header value: visible ASCII, SP, HTAB and obs-text; no NUL, CR, LF or other controls.
fn valid_value(value: &[u8]) -> Result<&[u8]> {
    if value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
    {
        Ok(value)
    } else {
        Err(abi_err("header value holds a control byte"))
    }
}

/// `content-length` and `transfer-encoding`, any case.
fn is_framing(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"transfer-encoding")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_validated() {
        assert!(valid_name(b"X-Pool").is_ok());
        for bad in [&b""[..], b"a b", b"a:b", b"a\r\n", b"\xff"] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
        assert!(valid_value(b"a\tb c \x80").is_ok());
        for bad in [&b"a\rb"[..], b"a\nb", b"a\0", b"\x7f", b"\x01"] {
            assert!(valid_value(bad).is_err(), "{bad:?}");
        }
    }
}
