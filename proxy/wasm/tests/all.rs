//! Tests of switchyard-wasm through its public API, with guests written inline in WAT: the ABI
//! functions one by one, loading and vetting, hostile guests against the sandbox limits, and
//! instance pooling. One binary, one module per area.
#![allow(clippy::unwrap_used)]

#[path = "all/abi.rs"]
mod abi;
#[path = "all/common.rs"]
mod common;
#[path = "all/load.rs"]
mod load;
#[path = "all/pool.rs"]
mod pool;
#[path = "all/sandbox.rs"]
mod sandbox;
