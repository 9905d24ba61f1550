//! The host side of the http-wasm `http_handler` ABI (the one Traefik v3 speaks): the 19
//! functions a guest may import, registered once per [`crate::Host`] on its `Linker` and acting
//! on the calling store's [`CallState`]. This file holds the administrative, logging,
//! request-line, status and body functions; headers live in [`headers`], guest memory access
//! in [`mem`], the WASI stubs in [`wasi`]. Every failure the ABI calls a host panic is a trap
//! with [`crate::error::AbiViolation`], reported as [`crate::CallError::Abi`].

mod headers;
mod mem;
pub(crate) mod wasi;

use wasmtime::{Caller, Linker, Result};

use crate::error::abi_err;
use crate::limits::{MAX_LOG_MESSAGE, MAX_METHOD, MAX_URI};
use crate::log::LogLevel;
use crate::state::CallState;
use headers::Write;
use mem::{read, split, write_if_fits};

/// The ABI's import module name.
pub(crate) const MODULE: &str = "http_handler";
/// The 19 functions of the ABI.
pub(crate) const FUNCTIONS: [&str; 19] = [
    "enable_features",
    "get_config",
    "log",
    "log_enabled",
    "get_method",
    "set_method",
    "get_uri",
    "set_uri",
    "get_protocol_version",
    "get_source_addr",
    "get_header_names",
    "get_header_values",
    "set_header_value",
    "add_header_value",
    "remove_header",
    "read_body",
    "write_body",
    "get_status_code",
    "set_status_code",
];

type C<'a> = Caller<'a, CallState>;

/// Adds the ABI and the WASI stubs to `linker`.
pub(crate) fn register(l: &mut Linker<CallState>) -> Result<()> {
    l.func_wrap(MODULE, "enable_features", |mut c: C<'_>, f: i32| {
        c.data_mut().enable(f as u32) as i32
    })?;
    l.func_wrap(MODULE, "get_config", |c: C<'_>, buf: i32, lim: i32| {
        get(c, buf, lim, |s| &s.shared.config[..])
    })?;
    l.func_wrap(MODULE, "log", log)?;
    l.func_wrap(MODULE, "log_enabled", |c: C<'_>, level: i32| {
        LogLevel::from_abi(level).is_some_and(|l| c.data().shared.log.enabled(l)) as i32
    })?;
    l.func_wrap(MODULE, "get_method", |c: C<'_>, buf: i32, lim: i32| {
        get(c, buf, lim, |s| s.req.method.as_bytes())
    })?;
    l.func_wrap(MODULE, "set_method", set_method)?;
    l.func_wrap(MODULE, "get_uri", |c: C<'_>, buf: i32, lim: i32| {
        get(c, buf, lim, uri)
    })?;
    l.func_wrap(MODULE, "set_uri", set_uri)?;
    l.func_wrap(
        MODULE,
        "get_protocol_version",
        |c: C<'_>, buf: i32, lim: i32| get(c, buf, lim, |s| s.req.version.as_bytes()),
    )?;
    l.func_wrap(MODULE, "get_source_addr", get_source_addr)?;
    l.func_wrap(MODULE, "get_header_names", headers::get_names)?;
    l.func_wrap(MODULE, "get_header_values", headers::get_values)?;
    l.func_wrap(
        MODULE,
        "set_header_value",
        |c: C<'_>, k: i32, n: i32, nl: i32, v: i32, vl: i32| {
            headers::write(c, Write::Set, k, (n, nl), (v, vl))
        },
    )?;
    l.func_wrap(
        MODULE,
        "add_header_value",
        |c: C<'_>, k: i32, n: i32, nl: i32, v: i32, vl: i32| {
            headers::write(c, Write::Add, k, (n, nl), (v, vl))
        },
    )?;
    l.func_wrap(MODULE, "remove_header", headers::remove)?;
    l.func_wrap(MODULE, "read_body", read_body)?;
    l.func_wrap(MODULE, "write_body", write_body)?;
    l.func_wrap(MODULE, "get_status_code", |c: C<'_>| {
        i32::from(c.data().resp.status.unwrap_or(200))
    })?;
    l.func_wrap(MODULE, "set_status_code", set_status_code)?;
    wasi::register(l)
}

/// The `get_*(buf, buf_limit) -> len` shape: writes `field` if it fits, returns its length.
fn get(mut caller: C<'_>, buf: i32, limit: i32, field: fn(&CallState) -> &[u8]) -> Result<i32> {
    let (data, state) = split(&mut caller)?;
    write_if_fits(data, buf, limit, field(state))
}

/// The URI, `/` when empty as the ABI asks.
fn uri(state: &CallState) -> &[u8] {
    match state.req.uri.as_bytes() {
        [] => b"/",
        uri => uri,
    }
}

/// `log(level, message, message_len)`: to the sink if enabled; never traps on a disabled level.
fn log(mut caller: C<'_>, level: i32, ptr: i32, len: i32) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    let Some(level) = LogLevel::from_abi(level) else {
        return Ok(());
    };
    if state.logs_left == 0 || !state.shared.log.enabled(level) {
        return Ok(());
    }
    state.logs_left -= 1;
    let bytes = read(data, ptr, len)?;
    let line = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOG_MESSAGE)]);
    state.shared.log.log(&state.shared.name, level, &line);
    Ok(())
}

/// `set_method(method, len)`: a token of at most [`MAX_METHOD`] bytes, case kept.
fn set_method(mut caller: C<'_>, ptr: i32, len: i32) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    let method = read(data, ptr, len)?;
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if method.is_empty() || method.len() > MAX_METHOD || !method.iter().all(token) {
        return Err(abi_err("invalid method"));
    }
    state.charge(method.len())?;
    state.set_method(method.iter().map(|&b| char::from(b)).collect());
    Ok(())
}

/// `set_uri(uri, len)`: origin-form (`/…`), visible ASCII only, at most [`MAX_URI`] bytes.
fn set_uri(mut caller: C<'_>, ptr: i32, len: i32) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    let uri = read(data, ptr, len)?;
    if uri.first() != Some(&b'/')
        || uri.len() > MAX_URI
        || !uri.iter().all(|b| b.is_ascii_graphic())
    {
        return Err(abi_err("invalid URI: need an encoded origin-form target"));
    }
    state.charge(uri.len())?;
    state.set_uri(uri.iter().map(|&b| char::from(b)).collect());
    Ok(())
}

/// `get_source_addr(buf, buf_limit) -> len`: `ip:port` / `[ip6]:port`, empty if unknown.
fn get_source_addr(mut caller: C<'_>, buf: i32, limit: i32) -> Result<i32> {
    let (data, state) = split(&mut caller)?;
    let addr = state.req.source.map(|a| a.to_string()).unwrap_or_default();
    write_if_fits(data, buf, limit, addr.as_bytes())
}

/// `read_body(kind, buf, buf_limit) -> eof << 32 | len`: streams the request body the caller
/// supplied (EOF at once when it supplied none); the response body reads as EOF.
fn read_body(mut caller: C<'_>, kind: i32, buf: i32, limit: i32) -> Result<i64> {
    if limit == 0 {
        return Err(abi_err("read_body with a zero buf_limit"));
    }
    let (data, state) = split(&mut caller)?;
    let body: &[u8] = match (kind, &state.req.body) {
        (0, Some(b)) => b,
        (0 | 1, _) => &[],
        _ => return Err(abi_err(format!("unknown body kind {kind}"))),
    };
    let rest = &body[state.body_pos.min(body.len())..];
    let n = rest.len().min(limit as u32 as usize);
    write_if_fits(data, buf, limit, &rest[..n])?;
    state.body_pos += n;
    let eof = i64::from(state.body_pos >= body.len());
    Ok((eof << 32) | i64::from(mem::as_i32(n)?))
}

/// `write_body(kind, body, len)`: kind 1 appends to the response the guest is answering
/// with; kind 0 appends to a new request body, which replaces the request's when the call
/// succeeds (guests that read the body write it back whole, as Traefik requires).
fn write_body(mut caller: C<'_>, kind: i32, ptr: i32, len: i32) -> Result<()> {
    let (data, state) = split(&mut caller)?;
    if kind != 0 && kind != 1 {
        return Err(abi_err(format!(
            "write_body kind {kind}: unknown body kind"
        )));
    }
    let bytes = read(data, ptr, len)?;
    state.charge(bytes.len())?;
    if kind == 0 {
        state
            .req_body_out
            .get_or_insert_with(Vec::new)
            .extend_from_slice(bytes);
        return Ok(());
    }
    state.resp.body.extend_from_slice(bytes);
    state.resp.written = true;
    Ok(())
}

/// `set_status_code(code)`: 100..=599; marks the request as answered by the guest.
fn set_status_code(mut caller: C<'_>, code: i32) -> Result<()> {
    let status = u16::try_from(code)
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| abi_err(format!("invalid status code {code}")))?;
    let state = caller.data_mut();
    state.resp.status = Some(status);
    state.resp.written = true;
    Ok(())
}
