//! Fair admission across tenants (SPEC §3 step 7): a per-tenant concurrency bulkhead with a
//! bounded per-tenant queue, a global bound on the sum of slots, and fair dequeueing — deficit
//! round robin with a quantum of one request over the tenants whose queues are non-empty, in
//! the spirit of Kubernetes API Priority and Fairness. A tenant flooding the proxy fills its
//! own queue and is then rejected, while another tenant is admitted at once if a slot is free,
//! or served within one round of the freed slots otherwise. This is a pure state machine over
//! opaque waiter ids: the caller parks its requests (e.g. on oneshot channels keyed by `W`),
//! wakes the ones [`FairQueue::release`] hands a slot to, and times them out itself.

use std::collections::{HashMap, VecDeque};

/// The answer to [`FairQueue::try_acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// A slot is taken now; the caller must [`FairQueue::release`] it when done.
    Now,
    /// The waiter is queued; it holds a slot once a `release` returns it, or gives up with
    /// [`FairQueue::cancel`].
    Queued,
    /// The tenant's queue is full (or the tenant may never run): answer 503.
    Rejected,
}

#[derive(Debug)]
struct Tenant<W> {
    in_flight: usize,
    max_in_flight: usize,
    queue: VecDeque<W>,
}

/// Slots and queues of every tenant, keyed by a dense tenant index. See the module docs.
#[derive(Debug)]
pub struct FairQueue<W> {
    global_limit: usize,
    total: usize,
    tenants: HashMap<usize, Tenant<W>>,
    // Tenants with a non-empty queue, each once, in service order; the front is served next.
    ring: VecDeque<usize>,
}

impl<W> FairQueue<W> {
    /// A queue whose tenants together hold at most `global_limit` slots (0 rejects all).
    pub fn new(global_limit: usize) -> Self {
        FairQueue {
            global_limit,
            total: 0,
            tenants: HashMap::new(),
            ring: VecDeque::new(),
        }
    }

    /// Asks a slot for `waiter` of `tenant`, which may hold at most `max_in_flight` slots and
    /// queue at most `queue_cap` waiters (the latest values passed win, so a reload applies
    /// at the tenant's next request; a lowered cap only stops new admissions).
    ///
    /// A slot is given at once only when the tenant has no one queued (its waiters stay in
    /// order) and both its cap and the global limit have room. `max_in_flight == 0` or a
    /// global limit of 0 is [`Admit::Rejected`]: such a waiter could never be served.
    pub fn try_acquire(
        &mut self,
        tenant: usize,
        max_in_flight: usize,
        queue_cap: usize,
        waiter: W,
    ) -> Admit {
        if max_in_flight == 0 || self.global_limit == 0 {
            return Admit::Rejected;
        }
        let room = self.total < self.global_limit;
        let t = self.tenants.entry(tenant).or_insert_with(|| Tenant {
            in_flight: 0,
            max_in_flight,
            queue: VecDeque::new(),
        });
        t.max_in_flight = max_in_flight;
        if t.queue.is_empty() && t.in_flight < max_in_flight && room {
            t.in_flight += 1;
            self.total += 1;
            return Admit::Now;
        }
        if t.queue.len() >= queue_cap {
            self.forget_if_idle(tenant);
            return Admit::Rejected;
        }
        if t.queue.is_empty() {
            self.ring.push_back(tenant);
        }
        t.queue.push_back(waiter);
        Admit::Queued
    }

    /// Frees one slot of `tenant` and hands the freed capacity to queued waiters, returned
    /// with their tenant in the order served; each now holds a slot the caller must release
    /// in turn (and release at once if that waiter has meanwhile gone away).
    ///
    /// A release by a tenant holding no slot is ignored (returns nothing).
    pub fn release(&mut self, tenant: usize) -> Vec<(usize, W)> {
        match self.tenants.get_mut(&tenant) {
            Some(t) if t.in_flight > 0 => {
                t.in_flight -= 1;
                self.total -= 1;
            }
            _ => return Vec::new(),
        }
        let handed = self.dispatch();
        self.forget_if_idle(tenant);
        handed
    }

    /// Changes the global limit (config reload) and hands any capacity it frees, like
    /// [`FairQueue::release`]. Lowering it below the slots held only stops admissions.
    pub fn set_global_limit(&mut self, global_limit: usize) -> Vec<(usize, W)> {
        self.global_limit = global_limit;
        self.dispatch()
    }

    /// Slots `tenant` holds now.
    pub fn in_flight(&self, tenant: usize) -> usize {
        self.tenants.get(&tenant).map_or(0, |t| t.in_flight)
    }

    /// Waiters `tenant` has queued now.
    pub fn queued(&self, tenant: usize) -> usize {
        self.tenants.get(&tenant).map_or(0, |t| t.queue.len())
    }

    /// Slots held by all tenants together.
    pub fn total_in_flight(&self) -> usize {
        self.total
    }

    /// Serves queued waiters round robin while there is global room and some queued tenant
    /// is under its own cap.
    fn dispatch(&mut self) -> Vec<(usize, W)> {
        let mut handed = Vec::new();
        // Tenants skipped in a row because they are at their own cap; a full lap ends it.
        let mut skipped = 0;
        while self.total < self.global_limit && skipped < self.ring.len() {
            let Some(id) = self.ring.pop_front() else {
                break;
            };
            let Some(t) = self.tenants.get_mut(&id) else {
                continue;
            };
            if t.in_flight >= t.max_in_flight {
                self.ring.push_back(id);
                skipped += 1;
                continue;
            }
            let Some(w) = t.queue.pop_front() else {
                continue;
            };
            t.in_flight += 1;
            self.total += 1;
            skipped = 0;
            if !t.queue.is_empty() {
                self.ring.push_back(id);
            }
            handed.push((id, w));
        }
        handed
    }

    /// Drops the entry of a tenant with nothing in flight or queued, so memory follows load.
    fn forget_if_idle(&mut self, tenant: usize) {
        if self
            .tenants
            .get(&tenant)
            .is_some_and(|t| t.in_flight == 0 && t.queue.is_empty())
        {
            self.tenants.remove(&tenant);
        }
    }
}

impl<W: PartialEq> FairQueue<W> {
    /// Removes a queued `waiter` of `tenant` (it gave up or timed out). False when it is not
    /// queued — typically because a `release` has just handed it a slot, which the caller
    /// must then release.
    pub fn cancel(&mut self, tenant: usize, waiter: &W) -> bool {
        let Some(t) = self.tenants.get_mut(&tenant) else {
            return false;
        };
        let Some(at) = t.queue.iter().position(|w| w == waiter) else {
            return false;
        };
        t.queue.remove(at);
        if t.queue.is_empty() {
            self.ring.retain(|&id| id != tenant);
            self.forget_if_idle(tenant);
        }
        true
    }
}

#[cfg(test)]
mod tests;
