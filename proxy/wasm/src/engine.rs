//! The long-lived wasmtime side of the host: one [`Host`] owns the `Engine` (compiler settings,
//! epoch interruption, stack limit, optional fuel metering), the `Linker` holding the
//! `http_handler` ABI and the four WASI stubs, the background epoch ticker that turns wall
//! time into epoch ticks, and the sink guest log lines go to. Build it once per process and
//! share it (it is cheap to clone); every [`crate::Policy`] compiled with it keeps the engine,
//! and so the ticker, alive.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::{Config, Engine, EngineWeak, Linker};

use crate::abi;
use crate::error::LoadError;
use crate::log::{DiscardLog, LogSink};
use crate::state::CallState;

/// Tuning knobs of a [`Host`]; [`HostOptions::default`] is what [`Host::new`] uses.
#[derive(Clone)]
pub struct HostOptions {
    /// How often the ticker thread advances the engine epoch; the granularity of
    /// [`crate::Limits::time`]. Default 1 ms.
    pub epoch_tick: Duration,
    /// Native stack a guest may use, in bytes (deep recursion traps past it). Default 256 KiB.
    pub max_wasm_stack: usize,
    /// Compile fuel metering in, so [`crate::Limits::fuel`] can be used. Costs roughly 10-30 %
    /// guest speed for every policy of this host, so it is off by default.
    pub fuel: bool,
    /// Idle instances kept per policy for reuse. Default: twice the available cores, at least 4.
    pub max_idle_instances: usize,
    /// Where guest `log` calls (and WASI `fd_write` text, at debug) go. Default: discarded.
    pub log: Arc<dyn LogSink>,
}

impl Default for HostOptions {
    fn default() -> Self {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        HostOptions {
            epoch_tick: Duration::from_millis(1),
            max_wasm_stack: 256 * 1024,
            fuel: false,
            max_idle_instances: (2 * cores).max(4),
            log: Arc::new(DiscardLog),
        }
    }
}

/// The wasmtime engine, ABI linker and epoch ticker shared by every policy.
///
/// Cloning is cheap (reference counted). The ticker thread stops by itself once the host and
/// every policy compiled with it are dropped.
#[derive(Clone)]
pub struct Host {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<CallState>>,
    pub(crate) options: HostOptions,
}

impl Host {
    /// A host with [`HostOptions::default`]: 1 ms epoch tick, 256 KiB wasm stack, no fuel.
    pub fn new() -> Result<Host, LoadError> {
        Host::with_options(HostOptions::default())
    }

    /// A host with explicit options; fails if wasmtime rejects the configuration or the
    /// ticker thread cannot be spawned.
    pub fn with_options(options: HostOptions) -> Result<Host, LoadError> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .max_wasm_stack(options.max_wasm_stack)
            .consume_fuel(options.fuel);
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        abi::register(&mut linker).map_err(|e| LoadError::Engine(e.to_string()))?;
        spawn_ticker(engine.weak(), options.epoch_tick)?;
        Ok(Host {
            engine,
            linker: Arc::new(linker),
            options,
        })
    }

    /// The options this host was built with.
    pub fn options(&self) -> &HostOptions {
        &self.options
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("epoch_tick", &self.options.epoch_tick)
            .field("max_wasm_stack", &self.options.max_wasm_stack)
            .field("fuel", &self.options.fuel)
            .finish_non_exhaustive()
    }
}

/// Advances the epoch every `tick` while anything still holds the engine. Holding only a weak
/// reference is what lets the thread end on its own.
fn spawn_ticker(engine: EngineWeak, tick: Duration) -> Result<(), LoadError> {
    let tick = tick.max(Duration::from_micros(100));
    thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || loop {
            thread::sleep(tick);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .map(drop)
        .map_err(|e| LoadError::Engine(format!("cannot spawn the epoch ticker: {e}")))
}
