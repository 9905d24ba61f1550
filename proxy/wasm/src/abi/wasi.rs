//! The only WASI a policy gets: stubs for the four `wasi_snapshot_preview1` functions a Rust
//! `wasm32-wasip1` guest's standard library imports, giving nothing away. The environment is
//! empty, `fd_write` to stdout/stderr is swallowed (its text goes to the log sink at debug) and
//! reports every byte written, other descriptors are `EBADF`, and `proc_exit` traps (the
//! instance is then discarded). No clock, randomness, files or sockets exist for a guest.

use wasmtime::{Caller, Linker, Result};

use super::mem::{read, split};
use crate::error::abi_err;
use crate::limits::MAX_LOG_MESSAGE;
use crate::log::LogLevel;
use crate::state::CallState;

/// The WASI module name.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";
/// The WASI functions a guest may import.
pub(crate) const FUNCTIONS: [&str; 4] =
    ["environ_get", "environ_sizes_get", "fd_write", "proc_exit"];

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;

/// Adds the four stubs to `linker`.
pub(crate) fn register(linker: &mut Linker<CallState>) -> Result<()> {
    linker.func_wrap(
        MODULE,
        "environ_get",
        |_: Caller<'_, CallState>, _environ: i32, _buf: i32| ERRNO_SUCCESS,
    )?;
    linker.func_wrap(MODULE, "environ_sizes_get", environ_sizes_get)?;
    linker.func_wrap(MODULE, "fd_write", fd_write)?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, CallState>, code: i32| -> Result<()> {
            Err(abi_err(format!("proc_exit({code})")))
        },
    )?;
    Ok(())
}

/// Zero variables, zero bytes.
fn environ_sizes_get(mut caller: Caller<'_, CallState>, count: i32, size: i32) -> Result<i32> {
    let (data, _) = split(&mut caller)?;
    for ptr in [count, size] {
        super::mem::write_if_fits(data, ptr, 4, &0u32.to_le_bytes())?;
    }
    Ok(ERRNO_SUCCESS)
}

/// `fd_write(fd, iovs, iovs_len, nwritten)`: accepts everything written to fd 1 and 2.
fn fd_write(
    mut caller: Caller<'_, CallState>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(ERRNO_BADF);
    }
    let (data, state) = split(&mut caller)?;
    let count = usize::try_from(iovs_len).map_err(|_| abi_err("negative iovec count"))?;
    let table = read(data, iovs, super::mem::as_i32(count.saturating_mul(8))?)?;
    let log = state.logs_left > 0 && state.shared.log.enabled(LogLevel::Debug);
    let mut text = Vec::new();
    let mut total: u32 = 0;
    for iov in table.chunks_exact(8) {
        let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        let bytes = read(data, ptr, len)?;
        total = total.saturating_add(len as u32);
        if log && text.len() < MAX_LOG_MESSAGE {
            text.extend_from_slice(&bytes[..bytes.len().min(MAX_LOG_MESSAGE - text.len())]);
        }
    }
    if log && !text.is_empty() {
        state.logs_left -= 1;
        let line = String::from_utf8_lossy(&text);
        state
            .shared
            .log
            .log(&state.shared.name, LogLevel::Debug, line.trim_end());
    }
    super::mem::write_if_fits(data, nwritten, 4, &total.to_le_bytes())?;
    Ok(ERRNO_SUCCESS)
}
