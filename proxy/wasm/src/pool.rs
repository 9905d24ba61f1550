//! Ready instances. A [`Factory`] turns a policy's `InstancePre` into a [`Slot`] (a `Store`
//! with its limiter, the instance's typed entry points, `_initialize`/`_start` already run); a [`Pool`] keeps
//! idle slots so the request path never instantiates while one is free. A slot runs one call at
//! a time ([`Slot::run`]) and goes back to the pool only after a clean call: one that trapped,
//! timed out or hit a limit is dropped with its store, and the next call gets another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wasmtime::{Instance, InstancePre, Store, TypedFunc};

use crate::error::CallError;
use crate::limits::{Limits, START_TIME};
use crate::request::{Decision, Request};
use crate::state::{CallState, Shared};
use crate::validate::INITIALIZERS;

/// Makes slots for one policy.
pub(crate) struct Factory {
    pub(crate) pre: InstancePre<CallState>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) limits: Limits,
    pub(crate) tick: Duration,
    /// The engine meters fuel: every store needs fuel set, or it cannot run at all.
    pub(crate) fuel_metered: bool,
    pub(crate) created: AtomicU64,
}

/// Why a slot could not be made.
pub(crate) enum SlotError {
    /// Instantiation failed, or the instance lacks what validation promised.
    Instantiate(String),
    /// `_initialize` or `_start` failed.
    Start(CallError),
}

impl Factory {
    /// Instantiates, records the memory, and runs the guest's initialisers once under
    /// [`START_TIME`].
    pub(crate) fn create(&self) -> Result<Slot, SlotError> {
        let engine = self.pre.module().engine();
        let mut store = Store::new(
            engine,
            CallState::new(self.shared.clone(), self.limits.memory),
        );
        store.limiter(|s| &mut s.limiter);
        self.arm(&mut store, self.limits.time.max(START_TIME))
            .map_err(|e| SlotError::Instantiate(e.to_string()))?;
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            let why = CallError::classify(&e, store.data().limiter.memory_exceeded);
            SlotError::Instantiate(format!("{why}: {e:#}"))
        })?;
        let missing = |what: &str| SlotError::Instantiate(format!("export {what} unusable"));
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| missing("memory"))?;
        store.data_mut().memory = Some(memory);
        let handle_request = instance
            .get_typed_func::<(), i64>(&mut store, "handle_request")
            .map_err(|_| missing("handle_request"))?;
        let handle_response = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "handle_response")
            .map_err(|_| missing("handle_response"))?;
        initialize(&instance, &mut store)?;
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(Slot {
            store,
            handle_request,
            handle_response,
        })
    }

    /// Sets the wall-time deadline (and fuel) for the next guest entry.
    fn arm(&self, store: &mut Store<CallState>, time: Duration) -> wasmtime::Result<()> {
        store.set_epoch_deadline(Limits::ticks(time, self.tick));
        if self.fuel_metered {
            store.set_fuel(self.limits.fuel.unwrap_or(u64::MAX))?;
        }
        Ok(())
    }
}

/// Runs `_initialize` (WASI reactors) and then `_start` (WASI commands, e.g. a Rust `main`
/// that registers the handler), each if exported; validation checked their types.
fn initialize(instance: &Instance, store: &mut Store<CallState>) -> Result<(), SlotError> {
    for name in INITIALIZERS {
        if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, name) {
            init.call(&mut *store, ()).map_err(|e| {
                let memory = store.data().limiter.memory_exceeded;
                SlotError::Start(CallError::classify(&e, memory))
            })?;
        }
    }
    Ok(())
}

/// One instance with its store, ready for calls.
pub(crate) struct Slot {
    store: Store<CallState>,
    handle_request: TypedFunc<(), i64>,
    handle_response: TypedFunc<(i32, i32), ()>,
}

impl Slot {
    /// Features the instance enabled during `_start`.
    pub(crate) fn base_features(&self) -> u32 {
        self.store.data().base_features
    }

    /// Runs `handle_request` on `req`. On error, `req` is as it was and the slot must be
    /// dropped.
    pub(crate) fn run(
        &mut self,
        factory: &Factory,
        req: &mut Request,
    ) -> Result<Decision, CallError> {
        self.store.data_mut().begin(req);
        let result = self.call(factory);
        self.store.data_mut().end(req, result.is_ok());
        result
    }

    fn call(&mut self, factory: &Factory) -> Result<Decision, CallError> {
        factory
            .arm(&mut self.store, factory.limits.time)
            .map_err(|e| CallError::Instantiate(e.to_string()))?;
        let ctx_next = self
            .handle_request
            .call(&mut self.store, ())
            .map_err(|e| self.classify(&e))?;
        let ctx = (ctx_next >> 32) as i32;
        let next = match ctx_next as u32 {
            0 => false,
            1 => true,
            n => return Err(CallError::Abi(format!("handle_request returned next={n}"))),
        };
        let decision = self.store.data_mut().decide(next);
        // The ABI calls handle_response after next=1. Switchyard has no response phase for
        // policies, so it is called only when the guest asked for request context (ctx != 0),
        // at once, with isError=1, letting the guest release what it keeps for that context.
        if next && ctx != 0 {
            self.handle_response
                .call(&mut self.store, (ctx, 1))
                .map_err(|e| self.classify(&e))?;
        }
        Ok(decision)
    }

    fn classify(&self, err: &wasmtime::Error) -> CallError {
        CallError::classify(err, self.store.data().limiter.memory_exceeded)
    }
}

/// Idle slots of one policy, last in first out (the warmest instance is reused first).
pub(crate) struct Pool {
    idle: Mutex<Vec<Slot>>,
    max_idle: usize,
}

impl Pool {
    pub(crate) fn new(max_idle: usize) -> Pool {
        Pool {
            idle: Mutex::new(Vec::with_capacity(max_idle)),
            max_idle,
        }
    }

    /// An idle slot, if any.
    pub(crate) fn take(&self) -> Option<Slot> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Returns a slot after a clean call; beyond `max_idle` it is dropped.
    pub(crate) fn give(&self, slot: Slot) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(slot);
            return;
        }
        drop(idle);
        // Dropping a store unmaps its memory: done outside the lock.
        drop(slot);
    }

    /// How many slots are idle now.
    pub(crate) fn idle(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
